/**
 * Replays Backblaze files drive by drive, in time order, as the agent would have seen them: each
 * drive's readings accumulate in a history, and the visitor is called at every prediction point.
 * Shared by `harbinger evaluate` (run.ts) and scripts/train-model.mjs, so the model is trained on
 * exactly the points the evaluation scores.
 *
 * Prediction points: every reading, plus — where readings are sparse (the interval format) — a
 * repeat of the last reading at each moment a growth window rolls past an earlier reading (7 and
 * 30 days after it). Between readings the agent would have read the same values again; without
 * those repeats a growth alarm raised at a change would seem to last until the next change, months
 * later. Daily readings need none (the repeats would fall on the next day's reading).
 */
import { basename } from 'node:path';
import { DAY_MS, HISTORY_DAYS } from '../features.js';
import type { DiskSample } from '../types.js';
import { DataFileError, failureTimeAfter, readBackblaze, type BackblazeReading, type CsvFormat, type ReadProgress } from './backblaze-csv.js';
import { inSplit, type Split } from './split.js';

const ROLL_OFF_DAYS = [7, 30];
const HOUR_MS = 3_600_000;

/** One drive's history as predict() wants it: trimmed to what it reads, repeats marked. */
export class DriveTimeline {
  readonly history: DiskSample[] = [];
  /** Times of the real readings (not repeats) in the history. */
  private readonly realTimes: number[] = [];

  /** Append `sample` (after the repeats due before it), calling `evaluate` at each point. */
  push(sample: DiskSample, evaluate: (history: readonly DiskSample[], repeat: boolean) => void): void {
    const prev = this.history[this.history.length - 1];
    if (prev !== undefined) {
      for (const atMs of this.rollOffs(prev.atMs, sample.atMs)) {
        const repeat: DiskSample = { ...prev, atMs };
        // The drive kept running: its power-on hours advance with the clock.
        if (prev.powerOnHours !== undefined) repeat.powerOnHours = prev.powerOnHours + (atMs - prev.atMs) / HOUR_MS;
        this.append(repeat);
        evaluate(this.history, true);
      }
    }
    this.append(sample);
    this.realTimes.push(sample.atMs);
    evaluate(this.history, false);
  }

  /** The drive will not be read again: let its history go (memory stays per live drive). */
  release(): void {
    this.history.length = 0;
    this.realTimes.length = 0;
  }

  private rollOffs(fromMs: number, toMs: number): number[] {
    const times = new Set<number>();
    for (const t of this.realTimes) {
      for (const days of ROLL_OFF_DAYS) {
        const at = t + days * DAY_MS + 1;
        if (at > fromMs + HOUR_MS && at < toMs - HOUR_MS) times.add(at);
      }
    }
    return [...times].sort((a, b) => a - b);
  }

  private append(sample: DiskSample): void {
    const last = this.history.length - 1;
    // A reading that only repeats its neighbours (the same counters, the same drive, power-on hours
    // moving forward) tells predict() nothing its neighbours do not: every window finds the same
    // values at the one before it. Dropping it keeps a quiet drive's history at a few readings
    // instead of one a day, which is most of the memory of a long daily replay. The history holds
    // its own copies, so such a reading moves the last copy forward in place instead of replacing
    // it: replaced, every row's sample would live a day of rows and die in the old generation.
    const own = this.history[last];
    if (own !== undefined && last >= 1 && unchanged(this.history[last - 1]!, own) && unchanged(own, sample)) {
      own.atMs = sample.atMs;
      if (sample.powerOnHours !== undefined) own.powerOnHours = sample.powerOnHours;
    } else this.history.push({ ...sample });
    // Keep the last reading at or before the window's start, and everything after it.
    const cutoff = sample.atMs - (HISTORY_DAYS + 1) * DAY_MS;
    let drop = 0;
    while (drop + 1 < this.history.length && this.history[drop + 1]!.atMs <= cutoff) drop++;
    if (drop > 0) this.history.splice(0, drop);
    const oldest = this.history[0]!.atMs - Math.max(...ROLL_OFF_DAYS) * DAY_MS;
    while (this.realTimes.length > 0 && this.realTimes[0]! < oldest) this.realTimes.shift();
  }
}

/** `next` is `prev` read again later: every field but the time the same, power-on hours not going back. */
function unchanged(prev: DiskSample, next: DiskSample): boolean {
  if (prev.powerOnHours !== undefined && (next.powerOnHours === undefined || next.powerOnHours < prev.powerOnHours)) return false;
  for (const key in prev) {
    if (key !== 'atMs' && key !== 'powerOnHours' && prev[key as keyof DiskSample] !== next[key as keyof DiskSample]) return false;
  }
  for (const key in next) if (!(key in prev)) return false;
  return true;
}

export interface ReplayDrive {
  serial: string;
  model: string;
  timeline: DriveTimeline;
  /** Set when the drive's failure row arrives: the failure time (the end of its last day). */
  failureMs?: number;
  lastMs: number;
}

export interface ReplayVisitor<D extends ReplayDrive> {
  newDrive(serial: string, model: string): D;
  /** A prediction point: `history`'s last sample is the reading (or repeat) evaluated. */
  point(drive: D, history: readonly DiskSample[], reading: BackblazeReading | undefined): void;
  /** The drive's last reading has been replayed (its failure, or the end of its intervals). */
  finish?(drive: D): void;
}

export interface ReplaySummary {
  format: CsvFormat | 'snapshot';
  files: string[];
  /** CSV data rows read. */
  rows: number;
  /** Readings replayed (intervals: one per row, plus each drive's last at its final tstop). */
  readings: number;
  points: number;
  skipped: { other_split: number; out_of_order: number; after_failure: number };
}

/** The first reading of a file: its format, and its date for ordering daily snapshot files. */
async function peek(file: string): Promise<{ format: CsvFormat; atMs: number }> {
  const progress: ReadProgress = { file, bytesRead: 0, totalBytes: 0, rows: 0 };
  for await (const reading of readBackblaze(file, progress)) return { format: progress.format!, atMs: reading.sample.atMs };
  if (progress.format === undefined) throw new DataFileError(`${file}: empty file`);
  return { format: progress.format, atMs: 0 };
}

/**
 * Replays `files` drive by drive. `split`: a side of the by-drive split, or any choice of drives by
 * serial number (the trainer's cross-validation folds); the others are skipped as `other_split`.
 */
export async function replayFiles<D extends ReplayDrive>(
  files: readonly string[],
  split: Split | ((serial: string) => boolean),
  visitor: ReplayVisitor<D>,
  drives: Map<string, D>,
  onProgress?: (progress: ReadProgress, fileIndex: number, fileCount: number) => void,
): Promise<ReplaySummary> {
  if (files.length === 0) throw new DataFileError('evaluate: no files');
  const peeked = await Promise.all(files.map(async (file) => ({ file, ...(await peek(file)) })));
  const formats = new Set(peeked.map((p) => p.format));
  if (formats.size > 1) throw new DataFileError(`evaluate: one format at a time (${peeked.map((p) => `${basename(p.file)}: ${p.format}`).join(', ')})`);
  // Daily snapshot files replay in date order whatever order they were named in.
  const ordered = [...peeked].sort((a, b) => a.atMs - b.atMs);
  const summary: ReplaySummary = { format: peeked[0]!.format, files: ordered.map((p) => p.file), rows: 0, readings: 0, points: 0, skipped: { other_split: 0, out_of_order: 0, after_failure: 0 } };
  const dates = new Set<string>();
  const scored = typeof split === 'function' ? split : (serial: string): boolean => inSplit(serial, split);
  for (const [index, { file }] of ordered.entries()) {
    const progress: ReadProgress = { file, bytesRead: 0, totalBytes: 0, rows: 0 };
    let sinceReport = 0;
    for await (const reading of readBackblaze(file, progress)) {
      summary.readings++;
      if (onProgress && ++sinceReport >= 8192) {
        sinceReport = 0;
        onProgress(progress, index, ordered.length);
      }
      if (!scored(reading.serial)) {
        summary.skipped.other_split++;
        continue;
      }
      if (reading.date !== undefined && dates.size < 2) dates.add(reading.date);
      let drive = drives.get(reading.serial);
      if (drive === undefined) {
        drive = visitor.newDrive(reading.serial, reading.model);
        drives.set(reading.serial, drive);
      } else if (drive.failureMs !== undefined) {
        summary.skipped.after_failure++;
        continue;
      } else if (reading.sample.atMs < drive.lastMs) {
        summary.skipped.out_of_order++;
        continue;
      }
      drive.lastMs = reading.sample.atMs;
      reading.sample.serial = drive.serial; // one string per drive, not one per row, in the histories
      if (reading.sample.model !== undefined) reading.sample.model = drive.model;
      const d = drive;
      d.timeline.push(reading.sample, (history, repeat) => {
        summary.points++;
        visitor.point(d, history, repeat ? undefined : reading);
      });
      if (reading.failure) d.failureMs = failureTimeAfter(reading.sample.atMs);
      if (reading.final) {
        d.timeline.release();
        visitor.finish?.(d);
      }
    }
    onProgress?.(progress, index, ordered.length);
    summary.rows += progress.rows;
  }
  if (summary.format === 'daily' && dates.size === 1) summary.format = 'snapshot';
  return summary;
}
