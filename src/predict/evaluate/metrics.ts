/**
 * Drive-level figures, as a maintenance schedule sees them (not row-level: consecutive days of one
 * drive are near-duplicates, and one alarm is what gets a disk replaced).
 *
 * Each drive's scores over time are a step function: a prediction holds from its reading until the
 * next one. At a threshold, a drive is alarmed while its score is ≥ the threshold.
 * - A failed drive is detected (TPR) when it was alarmed at some time in the HORIZON_DAYS before
 *   its failure. Alarmed only earlier than that is still a miss, counted apart (`early_only`).
 * - A drive that never failed (censored) is a false alarm (FPR) when it was alarmed at any time.
 * - Lead time: failure time − the start of the first alarm that reaches into the horizon window
 *   (an alarm that began earlier and held on counts from its start).
 */

import type { OperatingPoint } from '../model.js';
import { nextAlarm, type AlarmState } from '../replace-by.js';
import type { RiskLevel } from '../types.js';

const DAY_MS = 86_400_000;

/**
 * One drive's scores over time, consecutive equal scores merged. Most tracks keep one or two steps
 * (a baseline that never fires, a quiet drive), and `evaluate` keeps four per drive: the arrays
 * start at their first step's size, where a push into an empty array reserves room for 16.
 */
export class ScoreTrack {
  starts: number[] = [];
  scores: number[] = [];

  record(atMs: number, score: number): void {
    const n = this.scores.length;
    if (n === 0) {
      this.starts = [atMs];
      this.scores = [score];
    } else if (this.scores[n - 1] !== score) {
      this.starts.push(atMs);
      this.scores.push(score);
    }
  }
}

export interface DriveOutcome {
  failed: boolean;
  /** Failed: highest score that reached into the horizon window; healthy: highest at any time. */
  maxScore: number;
  /** Failed: highest score held only before the window. */
  maxBefore: number;
  /** Failed: (start, running max) over the episodes reaching into the window, by start; for lead times. */
  steps: Array<[startMs: number, runningMax: number]>;
  failureMs?: number;
  /** Failed: the replace-by date (Unix ms) of the alarm in force when it failed, if one was. */
  replaceByMs?: number;
}

export function outcomeOf(track: ScoreTrack, failureMs: number | undefined, horizonDays: number): DriveOutcome {
  const { starts, scores } = track;
  if (failureMs === undefined) return { failed: false, maxScore: scores.reduce((a, b) => Math.max(a, b), -Infinity), maxBefore: -Infinity, steps: [] };
  const windowStart = failureMs - horizonDays * DAY_MS;
  let maxScore = -Infinity;
  let maxBefore = -Infinity;
  const steps: Array<[number, number]> = [];
  for (let i = 0; i < starts.length; i++) {
    const start = starts[i]!;
    const end = starts[i + 1] ?? failureMs;
    const score = scores[i]!;
    if (start >= failureMs) continue;
    if (end > windowStart) {
      if (score > maxScore) {
        maxScore = score;
        steps.push([start, score]);
      }
    } else if (score > maxBefore) maxBefore = score;
  }
  return { failed: true, maxScore, maxBefore, steps, failureMs };
}

/**
 * The alarm in force when the drive failed, as the agent would have kept it (replace-by.ts): the
 * track's scores fed in order, at the operating point's cuts, and then a reading below the alarm
 * at the failure, which ends an alarm the disk had already been below for RECOVERY_DAYS.
 */
export function alarmAtFailure(track: ScoreTrack, failureMs: number, cuts: OperatingPoint): AlarmState | undefined {
  const levelOf = (p: number): RiskLevel => (p >= cuts.failing ? 'failing' : p >= cuts.degraded ? 'degraded' : 'ok');
  let alarm: AlarmState | undefined;
  for (let i = 0; i < track.starts.length && track.starts[i]! < failureMs; i++) {
    const probability = track.scores[i]!;
    alarm = nextAlarm(alarm, { atMs: track.starts[i]!, level: levelOf(probability), probability }, cuts);
  }
  return nextAlarm(alarm, { atMs: failureMs, level: 'ok', probability: 0 }, cuts);
}

/**
 * How the replace-by dates of the failed drives the operating point caught stood against their
 * failures: a schedule that replaces each disk by its date is in time for `before_failure` of them.
 */
export interface ReplaceByFigures {
  /** Failed drives alarmed within the horizon (the operating point's tp). */
  detected: number;
  /** Of them, those whose replace-by date in force when they failed was no later than the failure. */
  before_failure: number;
  share: number;
  /** Of them, those whose alarm had ended (RECOVERY_DAYS below it) before they failed: no date. */
  no_date: number;
  /** Days from the replace-by date to the failure (negative: the date came too late). */
  spare_days_median: number | null;
  spare_days_q1: number | null;
  spare_days_q3: number | null;
}

export function replaceByFigures(outcomes: readonly DriveOutcome[], cut: number): ReplaceByFigures {
  let detected = 0;
  let noDate = 0;
  const spare: number[] = [];
  for (const o of outcomes) {
    if (!o.failed || o.maxScore < cut || o.failureMs === undefined) continue;
    detected++;
    if (o.replaceByMs === undefined) noDate++;
    else spare.push((o.failureMs - o.replaceByMs) / DAY_MS);
  }
  spare.sort((a, b) => a - b);
  const beforeFailure = spare.filter((d) => d >= 0).length;
  return {
    detected,
    before_failure: beforeFailure,
    share: detected ? round(beforeFailure / detected, 4) : 0,
    no_date: noDate,
    spare_days_median: roundOrNull(quantile(spare, 0.5)),
    spare_days_q1: roundOrNull(quantile(spare, 0.25)),
    spare_days_q3: roundOrNull(quantile(spare, 0.75)),
  };
}

export interface Figures {
  threshold?: number;
  tpr: number;
  fpr: number;
  /** Failed drives detected within the horizon / all failed drives. */
  tp: number;
  /** Never-failed drives alarmed at any time / all never-failed drives. */
  fp: number;
  lead_days_median: number | null;
  lead_days_q1: number | null;
  lead_days_q3: number | null;
  /** Failed drives detected at least 7 days ahead. */
  lead_7d_or_more: number;
  /** Failed drives alarmed only earlier than the horizon (misses). */
  early_only: number;
}

/** Quantile by linear interpolation between closest ranks (R type 7). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const round = (x: number, places: number): number => Math.round(x * 10 ** places) / 10 ** places;
const roundOrNull = (x: number | null): number | null => (x === null ? null : round(x, 1));

export function figuresAt(outcomes: readonly DriveOutcome[], threshold: number): Figures {
  let failed = 0;
  let healthy = 0;
  let tp = 0;
  let fp = 0;
  let earlyOnly = 0;
  const leads: number[] = [];
  for (const o of outcomes) {
    if (!o.failed) {
      healthy++;
      if (o.maxScore >= threshold) fp++;
      continue;
    }
    failed++;
    if (o.maxScore >= threshold) {
      tp++;
      const first = o.steps.find(([, max]) => max >= threshold);
      if (first && o.failureMs !== undefined) leads.push((o.failureMs - first[0]) / DAY_MS);
    } else if (o.maxBefore >= threshold) earlyOnly++;
  }
  leads.sort((a, b) => a - b);
  return {
    threshold,
    tpr: failed ? round(tp / failed, 4) : 0,
    fpr: healthy ? round(fp / healthy, 4) : 0,
    tp,
    fp,
    lead_days_median: roundOrNull(quantile(leads, 0.5)),
    lead_days_q1: roundOrNull(quantile(leads, 0.25)),
    lead_days_q3: roundOrNull(quantile(leads, 0.75)),
    lead_7d_or_more: leads.filter((d) => d >= 7).length,
    early_only: earlyOnly,
  };
}

/** The probabilities the sweep reports, plus the operating points the caller adds. */
export const SWEEP_THRESHOLDS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9];

export function sweep(outcomes: readonly DriveOutcome[], extra: readonly number[]): Figures[] {
  const thresholds = [...new Set([...SWEEP_THRESHOLDS, ...extra])].sort((a, b) => a - b);
  return thresholds.map((t) => figuresAt(outcomes, t));
}

/** Baselines named whose operating point beats `ours` on both counts (higher TPR and lower FPR). */
export function dominatedBy<K extends string>(ours: Figures, baselines: Readonly<Record<K, Figures>>): K[] {
  return (Object.keys(baselines) as K[]).filter((k) => baselines[k].tpr > ours.tpr && baselines[k].fpr < ours.fpr);
}

/**
 * The figures at the lowest threshold whose FPR is at most `fpr`: the predictor held to a baseline's
 * false-alarm rate, so that its TPR can be compared at equal false alarms. The threshold sits just
 * above the healthy score that would be one false alarm too many (ties stay below it).
 */
export function figuresAtFpr(outcomes: readonly DriveOutcome[], fpr: number): Figures {
  const healthy = outcomes.filter((o) => !o.failed).map((o) => o.maxScore).sort((a, b) => b - a);
  const allowed = Math.floor(fpr * healthy.length + 1e-9);
  const threshold = allowed >= healthy.length ? Math.min(...healthy, 0) : healthy[allowed]! + 1e-9;
  return figuresAt(outcomes, round(threshold, 9));
}
