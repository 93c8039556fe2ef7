/**
 * A disk's history → what the rules and the model read: each counter's current value, its change
 * over 7 and 30 days, and its peak over 30 days. Growth matters more than counts: 8 reallocated
 * sectors that have not moved in a year are an old scar, 0 → 8 this week is a disk going bad.
 *
 * Time: windows are relative to the current (last) reading. "The value 7 days ago" is the last
 * reading at or before then, so a gap in the history (a disk asleep in standby, the agent stopped)
 * compares the same values across the gap and shows no growth. With a history shorter than the
 * window, the change is taken since the oldest reading (a partial window); with a single reading it
 * is unknown (absent).
 *
 * A different drive behind the same id (a swap in a RAID slot, a disk id without WWN or serial)
 * restarts the history: between two consecutive readings, a changed serial or model, a changed protocol,
 * power-on hours going back by more than max(48 h, 10%), or a counter that only ever grows
 * (reallocated sectors, reallocation events, reported uncorrectable, the ATA error count, NVMe media
 * errors and error-log entries, SCSI grown defects) falling from ≥ 8 to less than half (800 → 0), or
 * NVMe percentage used falling by 5 points. Readings before the latest such break are ignored, so
 * a swap never shows as negative growth, and the new drive's counts are compared only with its own.
 * (A 16-bit counter that wraps, 65184 → 5712, also restarts the history: the drive still shows
 * thousands of reallocated sectors.)
 */
import type { DiskSample } from './types.js';

export const DAY_MS = 86_400_000;
/**
 * How far back predict() reads: the current drive's readings of the last HISTORY_DAYS days, plus
 * the last one before them (the base of the 30-day change). A history store needs to keep no more
 * (one reading an hour is plenty); older readings are ignored.
 */
export const HISTORY_DAYS = 30;

/** DiskSample counters, by the signal names that evidence and the model use. */
export const COUNTERS = {
  reallocated_sectors: 'reallocatedSectors',
  reported_uncorrectable: 'reportedUncorrectable',
  command_timeouts: 'commandTimeouts',
  reallocation_events: 'reallocationEvents',
  pending_sectors: 'pendingSectors',
  offline_uncorrectable: 'offlineUncorrectable',
  udma_crc_errors: 'udmaCrcErrors',
  ata_error_log_count: 'ataErrorLogCount',
  self_test_errors: 'selfTestErrors',
  nvme_media_errors: 'nvmeMediaErrors',
  nvme_error_log_entries: 'nvmeErrorLogEntries',
  nvme_available_spare: 'nvmeAvailableSpareRatio',
  nvme_percentage_used: 'nvmePercentageUsedRatio',
  scsi_grown_defects: 'scsiGrownDefects',
  scsi_uncorrected_errors: 'scsiUncorrectedErrors',
} as const satisfies Record<string, keyof DiskSample>;

export type Signal = keyof typeof COUNTERS;
export const SIGNALS = Object.keys(COUNTERS) as Signal[];

const PEAKS: ReadonlySet<Signal> = new Set(['pending_sectors', 'offline_uncorrectable']);
/**
 * One reader per counter: named property reads (a keyed `sample[field]` in the loops below was
 * the evaluation's hot spot: it runs for every counter of every reading in the window).
 */
const READERS: ReadonlyArray<readonly [Signal, (s: DiskSample) => number | undefined]> = [
  ['reallocated_sectors', (s) => s.reallocatedSectors],
  ['reported_uncorrectable', (s) => s.reportedUncorrectable],
  ['command_timeouts', (s) => s.commandTimeouts],
  ['reallocation_events', (s) => s.reallocationEvents],
  ['pending_sectors', (s) => s.pendingSectors],
  ['offline_uncorrectable', (s) => s.offlineUncorrectable],
  ['udma_crc_errors', (s) => s.udmaCrcErrors],
  ['ata_error_log_count', (s) => s.ataErrorLogCount],
  ['self_test_errors', (s) => s.selfTestErrors],
  ['nvme_media_errors', (s) => s.nvmeMediaErrors],
  ['nvme_error_log_entries', (s) => s.nvmeErrorLogEntries],
  ['nvme_available_spare', (s) => s.nvmeAvailableSpareRatio],
  ['nvme_percentage_used', (s) => s.nvmePercentageUsedRatio],
  ['scsi_grown_defects', (s) => s.scsiGrownDefects],
  ['scsi_uncorrected_errors', (s) => s.scsiUncorrectedErrors],
];

export interface CounterFeature {
  value: number;
  /** Change since the last reading at or before 7 (30) days ago; absent without an earlier reading. */
  change7d?: number;
  change30d?: number;
  /** Highest value over the last 30 days, for the counters that come and go (pending, offline uncorrectable). */
  peak30d?: number;
}

export interface Features {
  current: DiskSample;
  /** Days of this drive's history behind the current reading (capped by what predict() reads). */
  historyDays: number;
  /** When the history restarted because another drive appeared behind the id. */
  resetAtMs?: number;
  counters: Partial<Record<Signal, CounterFeature>>;
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

const fellSharply = (a: number | undefined, b: number | undefined): boolean => a !== undefined && b !== undefined && a >= 8 && b < a / 2;

/** True when `cur` cannot be the same drive as `prev` (see the module comment). */
export function isNewDrive(prev: DiskSample, cur: DiskSample): boolean {
  if (prev.serial !== undefined && cur.serial !== undefined && prev.serial !== cur.serial) return true;
  if (prev.model !== undefined && cur.model !== undefined && prev.model !== cur.model) return true;
  if (prev.protocol !== cur.protocol) return true;
  if (prev.powerOnHours !== undefined && cur.powerOnHours !== undefined) {
    const back = prev.powerOnHours - cur.powerOnHours;
    if (back > Math.max(48, prev.powerOnHours * 0.1)) return true;
  }
  // Counters that only grow on one drive: a sharp fall means another drive. Named, not keyed,
  // property reads: this runs for every pair of readings in the window on every prediction.
  if (fellSharply(prev.reallocatedSectors, cur.reallocatedSectors)) return true;
  if (fellSharply(prev.reallocationEvents, cur.reallocationEvents)) return true;
  if (fellSharply(prev.reportedUncorrectable, cur.reportedUncorrectable)) return true;
  if (fellSharply(prev.ataErrorLogCount, cur.ataErrorLogCount)) return true;
  if (fellSharply(prev.nvmeMediaErrors, cur.nvmeMediaErrors)) return true;
  if (fellSharply(prev.nvmeErrorLogEntries, cur.nvmeErrorLogEntries)) return true;
  if (fellSharply(prev.scsiGrownDefects, cur.scsiGrownDefects)) return true;
  const usedBefore = prev.nvmePercentageUsedRatio;
  const usedNow = cur.nvmePercentageUsedRatio;
  return usedBefore !== undefined && usedNow !== undefined && usedBefore - usedNow >= 0.05;
}

/** Index of the last sample at or before `atMs` in history[from..to], or from - 1. */
function lastAtOrBefore(history: readonly DiskSample[], atMs: number, from: number, to: number): number {
  let lo = from;
  let hi = to;
  let found = from - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (history[mid]!.atMs <= atMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Features of the last reading of `history` (sorted oldest → newest, non-empty). Reads only the
 * last HISTORY_DAYS days (and the reading before them), so its cost does not grow with the history.
 */
export function extractFeatures(history: readonly DiskSample[]): Features {
  const last = history.length - 1;
  const current = history[last];
  if (current === undefined) throw new Error('extractFeatures: empty history');
  const now = current.atMs;
  // The window: from the last reading at or before now - 30 days (or the first reading).
  let start = Math.max(0, lastAtOrBefore(history, now - HISTORY_DAYS * DAY_MS, 0, last));
  let resetAtMs: number | undefined;
  for (let i = last; i > start; i--) {
    if (isNewDrive(history[i - 1]!, history[i]!)) {
      start = i;
      resetAtMs = history[i]!.atMs;
      break;
    }
  }
  const base7 = Math.max(start, lastAtOrBefore(history, now - 7 * DAY_MS, start, last - 1));
  const base30 = Math.max(start, lastAtOrBefore(history, now - 30 * DAY_MS, start, last - 1));
  const counters: Features['counters'] = {};
  for (const [signal, read] of READERS) {
    const value = finite(read(current));
    if (value === undefined) continue;
    const feature: CounterFeature = { value };
    if (last > start) {
      const at7 = finite(read(history[base7]!));
      const at30 = finite(read(history[base30]!));
      if (at7 !== undefined) feature.change7d = value - at7;
      if (at30 !== undefined) feature.change30d = value - at30;
    }
    if (PEAKS.has(signal)) {
      let peak = value;
      for (let i = base30; i < last; i++) {
        const v = read(history[i]!);
        if (v !== undefined && v > peak) peak = v;
      }
      feature.peak30d = peak;
    }
    counters[signal] = feature;
  }
  const features: Features = { current, historyDays: (now - history[start]!.atMs) / DAY_MS, counters };
  if (resetAtMs !== undefined) features.resetAtMs = resetAtMs;
  return features;
}

/** Vendor words in front of a model number. */
const VENDOR_WORDS: ReadonlySet<string> = new Set(['HGST', 'HITACHI', 'WDC', 'WD', 'WESTERN', 'DIGITAL', 'TOSHIBA', 'SAMSUNG', 'SEAGATE', 'ATA']);

/**
 * The key a drive model is looked up by in the model file's failure-rate table: upper case, without
 * the vendor word some tools put in front (`HGST`, `Hitachi`, `WDC`, …) and without the suffix after
 * the model number (smartctl's `WDC WD30EFRX-68EUZN0` and Backblaze's `WDC WD30EFRX` are both
 * `WD30EFRX`; `ST500LM012 HN-M500MBB` is `ST500LM012`). Hitachi drives sold as HGST keep one key.
 */
export function modelKey(model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  const words = model.trim().toUpperCase().split(/[\s_]+/).filter((w) => w !== '');
  while (words.length > 1 && VENDOR_WORDS.has(words[0]!)) words.shift();
  const key = words[0]?.replace(/-.*$/, '');
  return key === undefined || key === '' ? undefined : key;
}

/** Values the model file gives for features a reading does not carry (e.g. power-on hours). */
export type FeatureDefaults = Readonly<Record<string, number>>;

/**
 * A named numeric feature, as the model file lists them: `<signal>` (current value),
 * `<signal>_growth_7d`, `<signal>_growth_30d` (increase only: 0 if unknown or falling),
 * `<signal>_peak_30d`, and `power_on_hours`. An absent counter (not reported by this drive) reads
 * as 0; absent power-on hours read as `defaults.power_on_hours` (the training drives' median).
 * Compiled once into an accessor, since the model reads its features after every reading.
 */
export function compileFeature(name: string, defaults: FeatureDefaults = {}): (features: Features) => number {
  if (name === 'power_on_hours') {
    const fallback = defaults.power_on_hours ?? 0;
    return (f) => finite(f.current.powerOnHours) ?? fallback;
  }
  const match = /^([a-z0-9_]+?)(?:_(growth_7d|growth_30d|peak_30d))?$/.exec(name);
  const signal = match?.[1];
  if (signal === undefined || !Object.hasOwn(COUNTERS, signal)) throw new Error(`unknown feature ${JSON.stringify(name)}`);
  const key = signal as Signal;
  switch (match?.[2]) {
    case 'growth_7d':
      return (f) => Math.max(0, f.counters[key]?.change7d ?? 0);
    case 'growth_30d':
      return (f) => Math.max(0, f.counters[key]?.change30d ?? 0);
    case 'peak_30d':
      return (f) => f.counters[key]?.peak30d ?? f.counters[key]?.value ?? 0;
    default:
      return (f) => f.counters[key]?.value ?? 0;
  }
}

/** The counter a feature is computed from (`pending_sectors_growth_7d` → `pending_sectors`), if any. */
export function signalOf(name: string): Signal | undefined {
  const signal = name.replace(/_(growth_7d|growth_30d|peak_30d)$/, '');
  return Object.hasOwn(COUNTERS, signal) ? (signal as Signal) : undefined;
}
