/**
 * The replace-by date: the day by which a disk that raised the alarm (`degraded` or `failing`)
 * should be replaced. It is a deadline, not a forecast redone at every reading: set when the alarm
 * starts, it only ever moves nearer while the alarm lasts (worse evidence, a higher probability),
 * never further away. Computed afresh from each reading, a disk that stays at the same probability
 * would get a date N days from now every day, one that is never reached: a schedule that follows
 * it would replace the disk only after it died.
 *
 * How far away: REPLACE_WITHIN_DAYS at the alarm's cut, sooner as the probability rises
 * (REPLACE_WITHIN_DAYS × cut / probability days, at least REPLACE_WITHIN_MIN_DAYS), and the next day
 * when `failing`. 10 is the longest distance at which 90% of the failed drives the alarm caught
 * were still running on their date, on the training drives of Backblaze's interval file
 * (`harbinger evaluate --split train`); docs/prediction.md gives the held-out figures.
 *
 * The alarm ends when the disk has read below it for RECOVERY_DAYS (a disk that hovers at the cut
 * keeps its date, and has it while below), or when another drive appears behind the same id (a new
 * serial number). Then the disk has no replace-by date.
 */
import type { OperatingPoint } from './model.js';
import type { RiskLevel } from './types.js';

export const REPLACE_WITHIN_DAYS = 10;
export const REPLACE_WITHIN_MIN_DAYS = 2;
/** A `failing` disk: replace it the next day. */
export const REPLACE_FAILING_DAYS = 1;
/** Days below the alarm after which the alarm, and its date, are over. */
export const RECOVERY_DAYS = 7;
const DAY_MS = 86_400_000;

/** Days from now to replace a disk at this level and probability, were its alarm to start now. */
export function replaceWithinDays(level: RiskLevel, probability: number, cuts: Pick<OperatingPoint, 'degraded'>): number | undefined {
  if (level === 'failing') return REPLACE_FAILING_DAYS;
  if (level !== 'degraded') return undefined;
  return Math.max(REPLACE_WITHIN_MIN_DAYS, Math.min(REPLACE_WITHIN_DAYS, Math.floor((REPLACE_WITHIN_DAYS * cuts.degraded) / probability)));
}

/** One disk's alarm, as kept between readings (and across restarts, in the history store). */
export interface AlarmState {
  /** When the alarm started. */
  sinceMs: number;
  /** The deadline: the earliest date any reading of this alarm asked for. */
  replaceByMs: number;
  /** Since when the disk has read below the alarm, while it has. */
  belowSinceMs?: number;
  /** The drive's serial number when the alarm started. */
  serial?: string;
}

export interface AlarmReading {
  atMs: number;
  level: RiskLevel;
  probability: number;
  serial?: string;
}

/**
 * The alarm after `reading`, given the alarm before it (undefined: none). Returns undefined when
 * there is no alarm (any more); the same object when nothing changed.
 */
export function nextAlarm(previous: AlarmState | undefined, reading: AlarmReading, cuts: Pick<OperatingPoint, 'degraded'>): AlarmState | undefined {
  const sameDrive = previous !== undefined && (previous.serial === undefined || reading.serial === undefined || previous.serial === reading.serial);
  const ongoing = sameDrive && (previous.belowSinceMs === undefined || reading.atMs - previous.belowSinceMs < RECOVERY_DAYS * DAY_MS);
  const days = replaceWithinDays(reading.level, reading.probability, cuts);
  if (days === undefined) {
    if (!ongoing) return undefined;
    return previous.belowSinceMs === undefined ? { ...previous, belowSinceMs: reading.atMs } : previous;
  }
  const dueMs = reading.atMs + days * DAY_MS;
  if (!ongoing) return { sinceMs: reading.atMs, replaceByMs: dueMs, ...(reading.serial !== undefined ? { serial: reading.serial } : {}) };
  if (dueMs >= previous.replaceByMs && previous.belowSinceMs === undefined) return previous;
  const { belowSinceMs: _below, ...rest } = previous;
  return { ...rest, replaceByMs: Math.min(previous.replaceByMs, dueMs) };
}

/** True once the replace-by day (UTC) has ended: the disk should have been replaced by now. */
export function isOverdue(replaceBy: string, nowMs: number): boolean {
  return nowMs >= Date.parse(`${replaceBy}T00:00:00Z`) + DAY_MS;
}

/** A time as the day it falls on (UTC, YYYY-MM-DD): how replace-by dates are given. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The replace-by date (UTC, YYYY-MM-DD) of an open alarm. A disk has one while its alarm is open,
 * also while it dips below the alarm for less than RECOVERY_DAYS: a dip does not cancel the plan.
 */
export function replaceByDate(alarm: AlarmState | undefined): string | undefined {
  return alarm === undefined ? undefined : isoDay(alarm.replaceByMs);
}
