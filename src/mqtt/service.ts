import type { DiskRoleInfo } from '../balance/disk-roles.js';
import { roleJson } from '../balance/role-json.js';
import type { Logger } from '../logger.js';
import { balanceReportJson, balanceTopic, type BalanceReport } from '../protocol/balance-report.js';
import { grantTopic, parseDrainAnswer, type DrainAnswer } from '../protocol/drain-grant.js';
import { PayloadError } from '../protocol/fields.js';
import type { DiskPrediction, PredictionsReading } from '../predict/service.js';
import { publishedEvidence, trackDisks, type DiskEventDecision, type DiskTrack } from './disk-tracker.js';
import { buildEvent, topicSegment, type OutgoingEvent } from './events.js';
import { Outbox } from './outbox.js';
import { MqttPublisher, type PublisherStats } from './publisher.js';
import type { MqttSettings } from './settings.js';
import type { DamagedStateFile } from '../state-file.js';

export interface MqttServiceDeps {
  logger: Logger;
  version: string;
  stateDir: string;
  startedAtMs: number;
  now: () => number;
  /** A damaged outbox was moved aside (counted in harbinger_state_files_damaged_total). */
  onStateFileDamaged?: (file: string) => void;
}

export interface MqttStatus extends PublisherStats {
  outboxDepth: number;
  /** The outbox is in memory only (state directory unusable): a crash loses what it holds. */
  outboxVolatile: boolean;
}

/**
 * Predictions in, MQTT out: the retained status (birth, Will, clean offline), a retained state per
 * disk, and events when a disk's announced level changes, through the durable outbox.
 */
export class MqttService {
  /** Opened by start(): the outbox and what it holds, and the connection. */
  private running: { outbox: Outbox; volatile: boolean; publisher: MqttPublisher; tracks: Map<string, DiskTrack> } | undefined;
  /** This start's number (status messages carry it, the clean offline too, after stop() began). */
  private boot = 0;
  /** Each disk's retained payload without its reading time: republished only when this changes. */
  private readonly stateKeys = new Map<string, string>();

  constructor(
    private readonly settings: MqttSettings,
    private readonly deps: MqttServiceDeps,
  ) {}

  /**
   * Opens the outbox in the state directory (or in memory, with a warning, when that cannot be
   * used), counts this start, and connects in the background.
   */
  start(): void {
    const { deps, settings } = this;
    let volatile = false;
    let outbox: Outbox | undefined;
    let boot: number;
    try {
      outbox = Outbox.open(deps.stateDir, settings.outboxMaxEvents, (damaged) => this.damaged(damaged));
      boot = outbox.nextBoot();
    } catch (err) {
      deps.logger.warn({ err, stateDir: deps.stateDir }, 'cannot use the state directory: the MQTT outbox is kept in memory, and events not yet delivered are lost if the agent stops (set state_dir to a writable directory)');
      outbox?.close();
      outbox = new Outbox(':memory:', settings.outboxMaxEvents);
      boot = outbox.nextBoot();
      volatile = true;
    }
    const publisher = new MqttPublisher(settings, {
      outbox,
      logger: deps.logger,
      statusTopic: this.topic('status'),
      statusPayload: (state, reason) => this.statusPayload(state, reason),
      now: deps.now,
    });
    this.boot = boot;
    this.running = { outbox, volatile, publisher, tracks: outbox.tracks() };
    publisher.start();
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (!running) return;
    try {
      await running.publisher.stop();
    } finally {
      running.outbox.close();
    }
  }

  status(): MqttStatus | undefined {
    const running = this.running;
    if (!running) return undefined;
    return { ...running.publisher.stats, outboxDepth: running.publisher.depth(), outboxVolatile: running.volatile || running.outbox.volatile };
  }

  /** The outbox file was damaged (at open, or found by a later query) and replaced: one error line, counted. */
  private damaged(damaged: DamagedStateFile): void {
    this.deps.logger.error(
      {
        file: damaged.file,
        damagedCopy: damaged.damagedCopy ?? null,
        found: damaged.found,
        lost: 'MQTT events not yet delivered, and what had been announced per disk',
        ...(damaged.inMemory ? { inMemory: true } : {}),
      },
      damaged.inMemory
        ? 'the MQTT outbox is damaged and no fresh file can be made: the outbox is kept in memory; events not yet delivered are lost'
        : 'the MQTT outbox is damaged: moved aside and started afresh; events not yet delivered are lost',
    );
    this.deps.onStateFileDamaged?.('mqtt.sqlite');
  }

  /**
   * After each prediction round: decide events, commit them with the tracks that caused them
   * (fsynced), then publish. A failed commit (disk full) is logged and the round is decided again
   * next time, so no announcement is lost and none is made twice.
   */
  onPredictions(reading: PredictionsReading, roles: ReadonlyMap<string, DiskRoleInfo> = new Map()): void {
    const running = this.running;
    if (!running) return;
    const { outbox, publisher, tracks } = running;
    const now = this.deps.now();
    const result = trackDisks(tracks, reading.disks, now, this.settings.settleMs);
    const events = result.decisions.map((d) => this.diskEvent(d));
    try {
      const { dropped } = outbox.add(events, result.changed, result.removed.map((t) => t.disk));
      publisher.noteDropped(dropped);
    } catch (err) {
      this.deps.logger.error({ err, events: events.length }, 'cannot write MQTT events to the outbox (is the state directory full?); they are decided again at the next reading');
      return;
    }
    for (const track of result.changed) tracks.set(track.disk, track);
    for (const track of result.removed) {
      tracks.delete(track.disk);
      this.stateKeys.delete(track.disk);
      publisher.setRetained(this.diskTopic(track.disk), '', true);
    }
    for (const d of result.decisions) {
      this.deps.logger.info({ disk: d.disk, kind: d.kind, level: d.level, previousLevel: d.previousLevel, ...(d.reason ? { reason: d.reason } : {}) }, 'disk event queued for MQTT');
    }
    for (const p of reading.disks) this.publishDiskState(publisher, tracks.get(p.disk), p, roles.get(p.disk));
    if (events.length > 0) publisher.kick();
  }

  /** A host-level event (the load-balancer decision changed), through the same outbox. */
  publishHostEvent(kind: string, identity: readonly (string | number)[], data: Record<string, unknown>): void {
    const running = this.running;
    if (!running) return;
    const host = this.settings.host;
    const event = buildEvent(this.settings.topicRoot, { kind, scope: 'host', host, subject: host, identity, timeMs: this.deps.now(), data: { host, ...data } });
    try {
      running.publisher.noteDropped(running.outbox.add([event]).dropped);
    } catch (err) {
      this.deps.logger.error({ err, kind }, 'cannot write an MQTT event to the outbox (is the state directory full?)');
      return;
    }
    running.publisher.kick();
  }

  /** The retained load-balancer report: re-sent on every connection, not kept across restarts (it is rebuilt). */
  publishBalanceReport(report: BalanceReport): void {
    this.running?.publisher.setRetained(balanceTopic(this.settings.topicRoot, this.settings.host), JSON.stringify(balanceReportJson(report)), false);
  }

  /**
   * The collector's answers to this host's drain requests. A payload that is not a valid answer
   * is ignored (logged once until a valid one comes): only a real answer can drain the host.
   */
  onDrainAnswer(handler: (answer: DrainAnswer | undefined) => void): void {
    const running = this.running;
    if (!running) return;
    const topic = grantTopic(this.settings.topicRoot, this.settings.host);
    let complained = false;
    running.publisher.listen(topic, (payload) => {
      if (payload === '') return handler(undefined);
      let answer: DrainAnswer;
      try {
        answer = parseDrainAnswer(this.settings.host, payload);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
        if (!complained) this.deps.logger.warn({ topic, reason: err.message }, 'invalid drain answer ignored (only the collectors should publish here: check the broker ACL)');
        complained = true;
        return;
      }
      complained = false;
      handler(answer);
    });
  }

  private topic(suffix: string): string {
    return `${this.settings.topicRoot}/${this.settings.host}/${suffix}`;
  }

  private diskTopic(disk: string): string {
    return this.topic(`disks/${topicSegment(disk)}`);
  }

  private statusPayload(state: 'online' | 'offline', reason?: string): string {
    return JSON.stringify({
      state,
      host: this.settings.host,
      version: this.deps.version,
      started: new Date(this.deps.startedAtMs).toISOString(),
      boot: this.boot,
      ...(reason ? { reason } : {}),
      // The Will is composed at connect time; its time would be wrong when the broker sends it.
      ...(reason !== 'connection lost' ? { time: new Date(this.deps.now()).toISOString() } : {}),
    });
  }

  private publishDiskState(publisher: MqttPublisher, track: DiskTrack | undefined, p: DiskPrediction, role: DiskRoleInfo | undefined): void {
    const state = {
      host: this.settings.host,
      disk: p.disk,
      device: p.device,
      ...(p.model ? { model: p.model } : {}),
      ...(p.serial ? { serial: p.serial } : {}),
      protocol: p.protocol,
      level: track?.published ?? p.level,
      predicted_level: p.level,
      probability: Math.round(p.probability * 1000) / 1000,
      horizon_days: p.horizonDays,
      ...(p.replaceBy ? { replace_by: p.replaceBy } : {}),
      evidence: publishedEvidence(p.evidence),
      ...(track?.episode ? { episode_started: new Date(track.episode.startMs).toISOString() } : {}),
      role: roleJson(role),
    };
    const key = JSON.stringify(state);
    const payload = JSON.stringify({ ...state, last_reading: new Date(p.readingAtMs).toISOString() });
    const changed = this.stateKeys.get(p.disk) !== key;
    this.stateKeys.set(p.disk, key);
    // Unchanged state is not re-sent each round, but the newest reading time is what a reconnect sends.
    if (changed) publisher.setRetained(this.diskTopic(p.disk), payload, true);
    else publisher.refreshRetained(this.diskTopic(p.disk), payload);
  }

  private diskEvent(d: DiskEventDecision): OutgoingEvent {
    const p = d.prediction;
    return buildEvent(this.settings.topicRoot, {
      kind: d.kind,
      scope: 'disk',
      host: this.settings.host,
      subject: d.disk,
      identity: d.identity,
      timeMs: d.timeMs,
      data: {
        host: this.settings.host,
        disk: d.disk,
        device: d.track.device,
        ...(p?.model ? { model: p.model } : {}),
        ...((p?.serial ?? d.track.serial) ? { serial: p?.serial ?? d.track.serial } : {}),
        level: d.level,
        previous_level: d.previousLevel,
        ...(d.reason ? { reason: d.reason } : {}),
        ...(p ? { probability: Math.round(p.probability * 1000) / 1000, horizon_days: p.horizonDays } : {}),
        ...(p?.replaceBy ? { replace_by: p.replaceBy } : {}),
        ...(p ? { evidence: publishedEvidence(p.evidence), reading_time: new Date(p.readingAtMs).toISOString() } : {}),
        ...(d.episodeStartMs !== undefined ? { episode_started: new Date(d.episodeStartMs).toISOString() } : {}),
      },
    });
  }
}
