/**
 * `harbinger evaluate [--json] [--split all|holdout|train] [--by-model] [--alarm-probability P]
 * [--model WEIGHTS] FILE...`: replays Backblaze drive-stats files through the agent's own predictor
 * (predictProbability(): the decision predict() makes after each reading in the daemon, without the
 * evidence it then writes) and, on the same drives in the same run, through
 * the published baselines; reports the drive-level figures (metrics.ts) at the operating point
 * (the `degraded` level: the model's own cut, or P), at each baseline's FPR, over a sweep of
 * probability thresholds and, with --by-model, per drive model.
 *
 * All FILEs form one data set and must share a format: one daily series, several daily snapshot
 * files (replayed in date order), or one interval file. Memory: per drive, only the history the
 * predictor reads (30 days, quiet readings dropped: replay.ts) and the steps of its score; rows
 * are streamed.
 */
import { basename } from 'node:path';
import { MODEL, withAlarmProbability, type Model } from '../model.js';
import { HORIZON_DAYS, predictProbability } from '../predictor.js';
import type { DiskSample } from '../types.js';
import type { ReadProgress } from './backblaze-csv.js';
import { BASELINE_NAMES, BASELINES, type BaselineName } from './baselines.js';
import { alarmAtFailure, dominatedBy, figuresAt, figuresAtFpr, outcomeOf, replaceByFigures, ScoreTrack, sweep, type DriveOutcome, type Figures, type ReplaceByFigures } from './metrics.js';
import { DriveTimeline, replayFiles, type ReplayDrive, type ReplaySummary } from './replay.js';
import { inSplit, type Split } from './split.js';

export { parseSplit, SPLITS, type Split } from './split.js';
export { DataFileError } from './backblaze-csv.js';

export interface EvaluateOptions {
  /** The caller prints the report as JSON rather than formatReport()'s table; the report is the same. */
  json: boolean;
  /** A progress line on stderr (for a TTY). */
  progress: boolean;
  /** Which drives to score: all, or one side of the by-drive split (split.ts). Default all. */
  split?: Split;
  /** Also the figures per drive model (`by_model`). */
  byModel?: boolean;
  /** The agent's `predict.alarm_probability`: score the predictor with its alarm there (default: the model's own cut). */
  alarmProbability?: number;
  /** Another model than the shipped one (scripts/train-model.mjs scores its folds' models; `--model FILE`). */
  model?: Model;
  /** Where `model` was read from, for the report (`--model FILE`). */
  modelFile?: string;
  /** Of the split's drives, only these (by serial number). */
  drives?: (serial: string) => boolean;
}

export interface PredictorFigures extends Figures {
  threshold: number;
  /** Where `failing` starts, and the figures there. */
  failing: Figures;
  /**
   * Of the failed drives this operating point misses, those that showed nothing in the counters
   * Backblaze's rule reads (SMART 5, 187, 188, 197, 198: each 0, or not in the file) within the
   * horizon before failing: what no rule on those counters, at any threshold, would have caught.
   */
  missed_without_signal: number;
  /** The replace-by dates of the failed drives it caught, against their failures. */
  replace_by: ReplaceByFigures;
}

/** The figures of a group of drives: the predictor at the default operating point, and at each baseline's FPR on the group. */
export interface GroupFigures {
  drives: number;
  failed: number;
  predictor: Figures;
  baselines: Record<BaselineName, Figures>;
  at_baseline_fpr: Record<BaselineName, Figures>;
}

/** One drive model's figures. */
export interface ModelFigures extends GroupFigures {
  model: string;
}

/**
 * The drives of models whose failure rate the model does not have (a model Backblaze did not run
 * in the training data, or too few of its drives): the overall rate stands in for theirs, so the
 * operating point's FPR on them is the least certain (docs/prediction.md, "By drive model").
 */
export interface UnratedModelFigures extends GroupFigures {
  models: number;
}

export interface EvaluationReport {
  dataset: string;
  format: ReplaySummary['format'];
  files: string[];
  split: Split;
  /** The model file scored instead of the shipped model (`--model`); absent: the shipped model. */
  model_file?: string;
  horizon_days: number;
  drives: number;
  failed: number;
  healthy: number;
  /** CSV data rows read. */
  rows: number;
  /** Readings replayed (intervals: one per row, plus each drive's last at its final tstop). */
  readings: number;
  /** Predictions made: every reading of a scored drive, plus repeats where growth windows roll off. */
  prediction_points: number;
  /** Readings not scored: drives on the other side of the split, out of time order, after a failure. */
  skipped_readings: ReplaySummary['skipped'];
  predictor: PredictorFigures;
  baselines: Record<BaselineName, Figures>;
  /** Baselines with both a higher TPR and a lower FPR than the default operating point (should be none). */
  dominated_by: BaselineName[];
  /**
   * The predictor held to each baseline's FPR on these drives (figuresAtFpr): its TPR at equal
   * false alarms, which says how well it ranks the drives apart from where its operating point sits.
   */
  at_baseline_fpr: Record<BaselineName, Figures>;
  /** The drives of models without a failure rate in the model; null when there are none. */
  unrated_models: UnratedModelFigures | null;
  /** With `byModel`: per drive model, most drives first. */
  by_model?: ModelFigures[];
  sweep: Figures[];
  runtime_seconds: number;
}

interface EvalDrive extends ReplayDrive {
  predictor: ScoreTrack;
  baselines: ScoreTrack[];
  /** Once the drive is finished: its outcomes (the score tracks are then let go). */
  outcomes?: { predictor: DriveOutcome; baselines: DriveOutcome[] };
}

function finish(drive: EvalDrive, model: Model): { predictor: DriveOutcome; baselines: DriveOutcome[] } {
  if (drive.outcomes === undefined) {
    const predictor = outcomeOf(drive.predictor, drive.failureMs, HORIZON_DAYS);
    const replaceByMs = drive.failureMs === undefined ? undefined : alarmAtFailure(drive.predictor, drive.failureMs, model.operatingPoint)?.replaceByMs;
    if (replaceByMs !== undefined) predictor.replaceByMs = replaceByMs;
    drive.outcomes = { predictor, baselines: drive.baselines.map((track) => outcomeOf(track, drive.failureMs, HORIZON_DAYS)) };
  }
  drive.predictor = new ScoreTrack();
  drive.baselines = [];
  return drive.outcomes;
}

function progressLine(progress: ReadProgress, fileIndex: number, fileCount: number, drives: number): string {
  const pct = progress.totalBytes ? Math.floor((100 * progress.bytesRead) / progress.totalBytes) : 0;
  const files = fileCount > 1 ? ` (file ${fileIndex + 1}/${fileCount})` : '';
  return `\revaluate: ${basename(progress.file)}${files} ${pct}% ${progress.rows.toLocaleString('en-US')} rows, ${drives.toLocaleString('en-US')} drives\x1b[K`;
}

export async function evaluateFiles(files: string[], options: EvaluateOptions): Promise<EvaluationReport> {
  const started = process.hrtime.bigint();
  const split = options.split ?? 'all';
  const base = options.model ?? MODEL;
  const model = options.alarmProbability === undefined ? base : withAlarmProbability(base, options.alarmProbability);
  const only = options.drives;
  const scored = only === undefined ? split : (serial: string): boolean => inSplit(serial, split) && only(serial);
  const drives = new Map<string, EvalDrive>();
  const visitor = {
    newDrive: (serial: string, model: string): EvalDrive => ({
      serial,
      model,
      timeline: new DriveTimeline(),
      lastMs: -Infinity,
      predictor: new ScoreTrack(),
      baselines: BASELINE_NAMES.map(() => new ScoreTrack()),
    }),
    point(drive: EvalDrive, history: readonly DiskSample[], reading: { raw: Partial<Record<number, number>>; sample: DiskSample } | undefined): void {
      const current = history[history.length - 1]!;
      drive.predictor.record(current.atMs, predictProbability(history, model));
      if (reading === undefined) return; // a repeat: the baselines read only the current values
      const input = { raw: reading.raw, ...(reading.sample.smartPassed === undefined ? {} : { smartPassed: reading.sample.smartPassed }) };
      BASELINE_NAMES.forEach((name, i) => drive.baselines[i]!.record(current.atMs, BASELINES[name](input) ? 1 : 0));
    },
    finish: (drive: EvalDrive) => finish(drive, model),
  };
  let lastDraw = 0;
  const onProgress = options.progress
    ? (progress: ReadProgress, fileIndex: number, fileCount: number): void => {
        const now = Date.now();
        if (now - lastDraw < 200) return;
        lastDraw = now;
        process.stderr.write(progressLine(progress, fileIndex, fileCount, drives.size));
      }
    : undefined;
  let summary: ReplaySummary;
  try {
    summary = await replayFiles(files, scored, visitor, drives, onProgress);
  } finally {
    if (options.progress) process.stderr.write('\r\x1b[K');
  }

  const all = [...drives.values()];
  const outcomes = all.map((drive) => finish(drive, model));
  const predictorOutcomes = outcomes.map((o) => o.predictor);
  const cuts = model.operatingPoint;
  const { baselines, atBaselineFpr } = compare(outcomes);
  const ruleOfFiveCounters = BASELINE_NAMES.indexOf('backblaze_rule');
  const missedWithoutSignal = outcomes.filter((o) => o.predictor.failed && o.predictor.maxScore < cuts.degraded && o.baselines[ruleOfFiveCounters]!.maxScore < 1).length;
  const predictor: PredictorFigures = {
    ...figuresAt(predictorOutcomes, cuts.degraded),
    threshold: cuts.degraded,
    failing: figuresAt(predictorOutcomes, cuts.failing),
    missed_without_signal: missedWithoutSignal,
    replace_by: replaceByFigures(predictorOutcomes, cuts.degraded),
  };
  const failed = all.filter((d) => d.failureMs !== undefined).length;
  const report: EvaluationReport = {
    dataset: summary.files.map((f) => basename(f)).join(', '),
    format: summary.format,
    files: summary.files,
    split,
    ...(options.modelFile === undefined ? {} : { model_file: options.modelFile }),
    horizon_days: HORIZON_DAYS,
    drives: all.length,
    failed,
    healthy: all.length - failed,
    rows: summary.rows,
    readings: summary.readings,
    prediction_points: summary.points,
    skipped_readings: summary.skipped,
    predictor,
    baselines,
    dominated_by: dominatedBy(predictor, baselines),
    at_baseline_fpr: atBaselineFpr,
    unrated_models: unratedModels(all, outcomes, base, cuts.degraded),
    sweep: sweep(predictorOutcomes, [cuts.watch, cuts.degraded, cuts.failing]),
    runtime_seconds: 0,
  };
  if (options.byModel) report.by_model = byModel(all, outcomes, cuts.degraded);
  report.runtime_seconds = Math.round(Number(process.hrtime.bigint() - started) / 1e7) / 100;
  return report;
}

type Outcomes = { predictor: DriveOutcome; baselines: DriveOutcome[] };

/** The baselines' figures on these drives, and the predictor's at each baseline's FPR. */
function compare(outcomes: readonly Outcomes[]): { baselines: Record<BaselineName, Figures>; atBaselineFpr: Record<BaselineName, Figures> } {
  const predictorOutcomes = outcomes.map((o) => o.predictor);
  const baselines = {} as Record<BaselineName, Figures>;
  const atBaselineFpr = {} as Record<BaselineName, Figures>;
  BASELINE_NAMES.forEach((name, i) => {
    const figures = figuresAt(outcomes.map((o) => o.baselines[i]!), 1);
    delete figures.threshold;
    baselines[name] = figures;
    atBaselineFpr[name] = figuresAtFpr(predictorOutcomes, figures.fpr);
  });
  return { baselines, atBaselineFpr };
}

function unratedModels(drives: readonly EvalDrive[], outcomes: readonly Outcomes[], model: Model, cut: number): UnratedModelFigures | null {
  const names = new Set<string>();
  const group: Outcomes[] = [];
  drives.forEach((drive, i) => {
    if (model.hasFailureRate(drive.model)) return;
    names.add(drive.model);
    group.push(outcomes[i]!);
  });
  return group.length === 0 ? null : { models: names.size, ...groupFigures(group, cut) };
}

function groupFigures(group: readonly Outcomes[], cut: number): GroupFigures {
  const { baselines, atBaselineFpr } = compare(group);
  const failed = group.filter((o) => o.predictor.failed).length;
  return { drives: group.length, failed, predictor: figuresAt(group.map((o) => o.predictor), cut), baselines, at_baseline_fpr: atBaselineFpr };
}

/**
 * Per drive model (the file's model name): the mix of models decides where an aggregate operating
 * point lands (a fleet whose never-failed drives carry many errors spends the false alarms), so
 * these say how the predictor does on the models a host actually has.
 */
function byModel(drives: readonly EvalDrive[], outcomes: readonly Outcomes[], cut: number): ModelFigures[] {
  const groups = new Map<string, Outcomes[]>();
  drives.forEach((drive, i) => {
    const group = groups.get(drive.model);
    if (group) group.push(outcomes[i]!);
    else groups.set(drive.model, [outcomes[i]!]);
  });
  return [...groups]
    .map(([model, group]) => ({ model, ...groupFigures(group, cut) }))
    .sort((a, b) => b.drives - a.drives || a.model.localeCompare(b.model));
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const days = (x: number | null): string => (x === null ? '-' : x.toFixed(1));

function row(name: string, f: Figures): string {
  const lead = `${days(f.lead_days_median)} (${days(f.lead_days_q1)}–${days(f.lead_days_q3)})`;
  return `  ${name.padEnd(26)} ${pct(f.tpr).padStart(6)} ${String(f.tp).padStart(6)}  ${pct(f.fpr).padStart(6)} ${String(f.fp).padStart(6)}  ${lead.padStart(18)}  ${String(f.early_only).padStart(5)}`;
}

/** The report as a table for a terminal. */
export function formatReport(report: EvaluationReport): string {
  const lines = [
    `${report.dataset} (${report.format}, split ${report.split}): ${report.drives} drives, ${report.failed} failed, ${report.rows} rows, ${report.runtime_seconds} s`,
    ...(report.model_file === undefined ? [] : [`model: ${report.model_file} (not the shipped model)`]),
    `horizon ${report.horizon_days} days: TPR = failed drives alarmed within the horizon before failing; FPR = never-failed drives alarmed at any time`,
    '',
    `  ${''.padEnd(26)} ${'TPR'.padStart(6)} ${'drives'.padStart(6)}  ${'FPR'.padStart(6)} ${'drives'.padStart(6)}  ${'lead days med (IQR)'.padStart(18)}  ${'early'.padStart(5)}`,
    row(`harbinger (p ≥ ${report.predictor.threshold})`, report.predictor),
    row(`harbinger failing (p ≥ ${report.predictor.failing.threshold})`, report.predictor.failing),
    ...BASELINE_NAMES.map((name) => row(name, report.baselines[name])),
    '',
    report.dominated_by.length === 0 ? 'No baseline beats the default operating point on both TPR and FPR.' : `Beaten on both TPR and FPR by: ${report.dominated_by.join(', ')}.`,
    replaceByLine(report.predictor.replace_by),
    `Of the ${report.failed - report.predictor.tp} failed drives it misses, ${report.predictor.missed_without_signal} showed nothing in SMART 5, 187, 188, 197 or 198 in the ${report.horizon_days} days before failing.`,
    ...unratedLines(report.unrated_models),
    '',
    "harbinger at each baseline's FPR (its TPR at equal false alarms):",
    ...BASELINE_NAMES.map((name) => row(`p ≥ ${report.at_baseline_fpr[name].threshold?.toPrecision(3)} (${name.replace(/_.*/, '')})`, report.at_baseline_fpr[name])),
    '',
    'sweep:',
    ...report.sweep.map((f) => row(`p ≥ ${f.threshold}`, f)),
  ];
  if (report.by_model) lines.push('', ...formatByModel(report.by_model));
  const skipped = Object.entries(report.skipped_readings).filter(([, n]) => n > 0);
  if (skipped.length > 0) lines.push('', `skipped readings: ${skipped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function replaceByLine(r: ReplaceByFigures): string {
  const spare = `${days(r.spare_days_median)} days to spare (IQR ${days(r.spare_days_q1)}–${days(r.spare_days_q3)})`;
  const ended = r.no_date > 0 ? `; ${r.no_date} had left the alarm before failing` : '';
  return `Replace-by dates: of the ${r.detected} failed drives it caught, ${r.before_failure} (${pct(r.share)}) were still running on their replace-by date, median ${spare}${ended}.`;
}

function unratedLines(unrated: UnratedModelFigures | null): string[] {
  if (unrated === null) return [];
  const scrutiny = unrated.baselines.scrutiny;
  return [
    `${unrated.drives} drives (${unrated.failed} failed) are of ${unrated.models} model${unrated.models === 1 ? '' : 's'} without a failure rate in the model (the overall rate stands in): on them harbinger ${pct(unrated.predictor.tpr)} at ${pct(unrated.predictor.fpr)} FPR, scrutiny ${pct(scrutiny.tpr)} at ${pct(scrutiny.fpr)}, harbinger at scrutiny's FPR ${pct(unrated.at_baseline_fpr.scrutiny.tpr)}.`,
  ];
}

/** Models shown in the table (the JSON has all): enough drives or failures for the rates to mean something. */
const BY_MODEL_MIN_DRIVES = 100;
const BY_MODEL_MIN_FAILED = 10;
const pair = (f: Figures): string => `${pct(f.tpr)} ${(f.fpr * 100).toFixed(2)}%`.padStart(14);

function formatByModel(models: readonly ModelFigures[]): string[] {
  const shown = models.filter((m) => m.drives >= BY_MODEL_MIN_DRIVES || m.failed >= BY_MODEL_MIN_FAILED);
  const header = `  ${'model'.padEnd(26)} ${'drives'.padStart(6)} ${'failed'.padStart(6)} ${'harbinger'.padStart(14)}${BASELINE_NAMES.map((n) => ` ${n.padStart(16)} ${'harbinger'.padStart(9)}`).join('')}`;
  return [
    `by model: TPR FPR at the default operating point; each baseline's, and harbinger's TPR at that baseline's FPR on the model (${shown.length} of ${models.length} models: ≥ ${BY_MODEL_MIN_DRIVES} drives or ≥ ${BY_MODEL_MIN_FAILED} failed; all in --json):`,
    header,
    ...shown.map(
      (m) =>
        `  ${m.model.slice(0, 26).padEnd(26)} ${String(m.drives).padStart(6)} ${String(m.failed).padStart(6)} ${pair(m.predictor)}${BASELINE_NAMES.map((n) => ` ${pair(m.baselines[n]).padStart(16)} ${pct(m.at_baseline_fpr[n].tpr).padStart(9)}`).join('')}`,
    ),
  ];
}
