import type { SmartReading } from '../collectors/smart/collector.js';
import { deviceLabel } from '../collectors/smart/metrics.js';
import type { Logger } from '../logger.js';
import type { HistoryStore } from './history-store.js';
import { MODEL, type Model } from './model.js';
import { predict } from './predictor.js';
import { nextAlarm, replaceByDate, type AlarmState } from './replace-by.js';
import { sampleFromReading } from './sample.js';
import type { DiskSample, Prediction } from './types.js';

/** How far back the predictor is given history: its longest window (30 days) and some slack. */
const LOOKBACK_MS = 45 * 86_400_000;

export interface DiskPrediction extends Prediction {
  disk: string;
  device: string;
  protocol: DiskSample['protocol'];
  model?: string;
  serial?: string;
  /** When the reading behind this prediction was taken. */
  readingAtMs: number;
}

export interface PredictionsReading {
  disks: readonly DiskPrediction[];
  /** Samples that could not be saved (disk full, read-only state directory…). */
  historyWriteErrors: number;
}

/**
 * Runs the predictor after each SMART round, fed by the daemon (a collector only reads): each new
 * reading becomes a sample in the history store, and the disk's history gives its prediction.
 * A disk that was asleep keeps its last prediction; a disk that is gone is dropped.
 */
export class PredictionService {
  private readonly latest = new Map<string, DiskPrediction>();
  /** Each disk's alarm as of its last reading; read from the store once, at the disk's first. */
  private readonly alarms = new Map<string, AlarmState | undefined>();
  /** Disks whose alarm could not be saved: tried again at their next reading. */
  private readonly unsaved = new Set<string>();
  private historyWriteErrors = 0;

  constructor(
    private readonly store: HistoryStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
    private model: Model = MODEL,
  ) {}

  /** A reload with another alarm probability: from the next reading on. */
  setModel(model: Model): void {
    this.model = model;
  }

  onSmartReading(reading: SmartReading): PredictionsReading {
    const present = new Set<string>();
    for (const state of reading.devices) {
      const r = state.reading;
      if (!r || state.readingAtMs === undefined) continue;
      present.add(r.disk);
      const previous = this.latest.get(r.disk);
      if (previous && previous.readingAtMs === state.readingAtMs) continue; // asleep or skipped: nothing new
      const sample = sampleFromReading(r, state.readingAtMs);
      const history = this.record(r.disk, sample);
      const nowMs = this.now();
      const prediction = predict(history, nowMs, this.model);
      const alarm = this.alarm(r.disk, { atMs: nowMs, level: prediction.level, probability: prediction.probability, ...(sample.serial !== undefined ? { serial: sample.serial } : {}) });
      const replaceBy = replaceByDate(alarm);
      if (replaceBy === undefined) delete prediction.replaceBy;
      else prediction.replaceBy = replaceBy;
      if (previous && previous.level !== prediction.level) {
        this.logger.info({ disk: r.disk, device: deviceLabel(state), from: previous.level, to: prediction.level, evidence: prediction.evidence[0]?.note }, 'disk risk level changed');
      }
      this.latest.set(r.disk, {
        ...prediction,
        disk: r.disk,
        device: deviceLabel(state),
        protocol: r.protocol,
        ...(r.identity.model ? { model: r.identity.model } : {}),
        ...(r.identity.serial ? { serial: r.identity.serial } : {}),
        readingAtMs: state.readingAtMs,
      });
    }
    for (const disk of this.latest.keys()) {
      if (!present.has(disk)) {
        this.latest.delete(disk);
        this.alarms.delete(disk);
        this.unsaved.delete(disk);
      }
    }
    return { disks: [...this.latest.values()], historyWriteErrors: this.historyWriteErrors };
  }

  /**
   * The disk's alarm after this prediction (replace-by.ts): the replace-by date holds from the
   * alarm's first reading and only moves nearer. Saved when it changes, so that a restart keeps
   * it; kept in memory too, so that a store that cannot be written loses it only at exit.
   */
  private alarm(disk: string, reading: Parameters<typeof nextAlarm>[1]): AlarmState | undefined {
    let previous = this.alarms.get(disk);
    if (!this.alarms.has(disk)) {
      try {
        previous = this.store.alarm(disk);
      } catch (err) {
        this.logger.error({ err, disk }, "cannot read the disk's saved alarm; its replace-by date starts again from this reading");
      }
    }
    const next = nextAlarm(previous, reading, this.model.operatingPoint);
    this.alarms.set(disk, next);
    if (next !== previous || this.unsaved.has(disk)) {
      try {
        this.store.saveAlarm(disk, next);
        this.unsaved.delete(disk);
      } catch (err) {
        this.unsaved.add(disk);
        this.writeFailed(err);
      }
    }
    return next;
  }

  /**
   * Returns the disk's history ending with this sample, then saves it. Read before the write:
   * today's stored row is then still the previous reading, so growth within the first day (or
   * since the last reading before a restart) is seen too.
   */
  private record(disk: string, sample: DiskSample): DiskSample[] {
    let history: DiskSample[] = [];
    try {
      history = this.store.history(disk, sample.atMs - LOOKBACK_MS).filter((s) => s.atMs < sample.atMs);
    } catch (err) {
      this.logger.error({ err, disk }, 'cannot read disk history; predicting from the current reading alone');
    }
    try {
      this.store.append(disk, sample);
    } catch (err) {
      this.writeFailed(err);
    }
    return [...history, sample];
  }

  /** One line per outage, not per disk per round; the prediction still uses this reading. */
  private writeFailed(err: unknown): void {
    if (this.historyWriteErrors === 0) {
      this.logger.error({ err }, 'cannot save disk history (is the state directory full or read-only?); predictions go on from what is saved');
    }
    this.historyWriteErrors++;
  }
}
