import { execHarbinger } from '../helpers/agent.js';
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pickCells, readBackblaze, type BackblazeReading } from '../../src/predict/evaluate/backblaze-csv.js';
import { BASELINES, scrutinyAttributeFails } from '../../src/predict/evaluate/baselines.js';
import { alarmAtFailure, figuresAt, figuresAtFpr, outcomeOf, replaceByFigures, ScoreTrack } from '../../src/predict/evaluate/metrics.js';
import { evaluateFiles, formatReport, type EvaluationReport } from '../../src/predict/evaluate/run.js';
import { DriveTimeline, replayFiles, type ReplayDrive } from '../../src/predict/evaluate/replay.js';
import { fnv1a32, inSplit, sideOf } from '../../src/predict/evaluate/split.js';
import { predict, predictProbability } from '../../src/predict/predictor.js';
import type { DiskSample } from '../../src/predict/types.js';
import { MODEL, withAlarmProbability } from '../../src/predict/model.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const fixture = (name: string): string => repoPath('test', 'fixtures', 'backblaze', name);
const DAILY = fixture('daily-2013-subset.csv.gz');
const INTERVALS = fixture('intervals-2013-2016-subset.csv.gz');
const SNAPSHOT = fixture('snapshot-2013-04-19-subset.csv.gz');
const DAY = 86_400_000;

async function collect(file: string): Promise<BackblazeReading[]> {
  const out: BackblazeReading[] = [];
  for await (const r of readBackblaze(file)) out.push(r);
  return out;
}

/** The dominance property: no baseline has both a higher TPR and a lower FPR than the default operating point. */
function assertNotDominated(t: import('ava').ExecutionContext, report: EvaluationReport): void {
  t.deepEqual(report.dominated_by, []);
  for (const [name, b] of Object.entries(report.baselines)) {
    t.false(b.tpr > report.predictor.tpr && b.fpr < report.predictor.fpr, name);
  }
}

test('daily subset (440 drives, 40 failed): the figures of the predictor and of the baselines on the same drives', async (t) => {
  const r = await evaluateFiles([DAILY], { json: true, progress: false });
  t.like(r, { format: 'daily', split: 'all', horizon_days: 30, drives: 440, failed: 40, healthy: 400, rows: 15818, readings: 15818, prediction_points: 15856 });
  t.like(r.predictor, { threshold: MODEL.operatingPoint.degraded, tp: 23, tpr: 0.575, fp: 4, fpr: 0.01, lead_days_median: 16, lead_days_q1: 8, lead_days_q3: 26, lead_7d_or_more: 18, early_only: 0 });
  t.like(r.baselines.backblaze_rule, { tp: 27, tpr: 0.675, fp: 31, fpr: 0.0775 });
  t.like(r.baselines.smartd_default, { tp: 15, tpr: 0.375, fp: 10, fpr: 0.025 });
  t.like(r.baselines.scrutiny, { tp: 25, tpr: 0.625, fp: 17, fpr: 0.0425 });
  t.deepEqual(r.predictor.replace_by, { detected: 23, before_failure: 17, share: 0.7391, no_date: 0, spare_days_median: 6, spare_days_q1: -0.5, spare_days_q3: 18.5 });
  assertNotDominated(t, r);
});

test('interval subset (440 drives, 40 failed): replayed from power-on hours, with repeats where growth windows roll off', async (t) => {
  const r = await evaluateFiles([INTERVALS], { json: true, progress: false });
  t.like(r, { format: 'intervals', drives: 440, failed: 40, rows: 3207, readings: 3647, prediction_points: 9165 });
  t.like(r.predictor, { tp: 28, tpr: 0.7, fp: 5, fpr: 0.0125, lead_days_median: 24, early_only: 0 });
  t.like(r.predictor.failing, { threshold: 0.5, tp: 0, fp: 0 });
  t.like(r.baselines.backblaze_rule, { tp: 28, tpr: 0.7, fp: 27, fpr: 0.0675 });
  t.like(r.baselines.smartd_default, { tp: 22, tpr: 0.55, fp: 8, fpr: 0.02 });
  t.like(r.baselines.scrutiny, { tp: 26, tpr: 0.65, fp: 14, fpr: 0.035 });
  t.like(r.predictor.replace_by, { detected: 28, before_failure: 24, no_date: 0, spare_days_median: 20.5 });
  assertNotDominated(t, r);
});

test('single-day snapshot: one reading per drive, failures are 1 day ahead at best', async (t) => {
  const r = await evaluateFiles([SNAPSHOT], { json: false, progress: false });
  t.like(r, { format: 'snapshot', drives: 405, failed: 6, rows: 405, prediction_points: 405 });
  t.like(r.predictor, { tp: 1, fp: 8, lead_days_median: 1 });
  t.like(r.baselines.backblaze_rule, { tp: 3, fp: 43 });
  t.like(r.baselines.scrutiny, { tp: 3, fp: 27 });
  assertNotDominated(t, r);
});

test('the JSON report: one object with dataset, drives, failed, predictor, baselines and the sweep', async (t) => {
  const r = JSON.parse(JSON.stringify(await evaluateFiles([INTERVALS], { json: true, progress: false }))) as Record<string, unknown>;
  for (const key of ['dataset', 'drives', 'failed', 'predictor', 'baselines', 'sweep']) t.true(key in r, key);
  t.is(r.dataset, 'intervals-2013-2016-subset.csv.gz');
  const predictor = r.predictor as Record<string, unknown>;
  for (const key of ['tpr', 'fpr', 'lead_days_median', 'lead_days_q1', 'lead_days_q3', 'threshold']) t.is(typeof predictor[key], 'number', key);
  t.deepEqual(Object.keys(r.baselines as object), ['backblaze_rule', 'smartd_default', 'scrutiny']);
  const sweep = r.sweep as Array<{ threshold: number; tpr: number; fpr: number }>;
  t.true(sweep.some((s) => s.threshold === MODEL.operatingPoint.degraded));
  t.deepEqual(sweep.map((s) => s.threshold), [...sweep.map((s) => s.threshold)].sort((a, b) => a - b));
  for (let i = 1; i < sweep.length; i++) t.true(sweep[i]!.tpr <= sweep[i - 1]!.tpr && sweep[i]!.fpr <= sweep[i - 1]!.fpr, 'a higher threshold never alarms more');
  const at = sweep.find((s) => s.threshold === MODEL.operatingPoint.degraded)!;
  t.like(at, { tpr: predictor.tpr, fpr: predictor.fpr });
});

test('the by-drive split: holdout and train partition the drives, the same drive on the same side in every file', async (t) => {
  const [all, holdout, train] = await Promise.all((['all', 'holdout', 'train'] as const).map((split) => evaluateFiles([INTERVALS], { json: true, progress: false, split })));
  t.is(holdout!.drives + train!.drives, all!.drives);
  t.is(holdout!.failed + train!.failed, all!.failed);
  t.is(holdout!.skipped_readings.other_split + train!.skipped_readings.other_split, all!.readings);
  t.like(holdout, { drives: 132, failed: 14 });
  t.is(sideOf('Z300XGTT'), sideOf('Z300XGTT'));
  t.true(inSplit('anything', 'all'));
  const share = [...Array(10_000).keys()].filter((i) => sideOf(`S${i}`) === 'holdout').length / 10_000;
  t.true(share > 0.28 && share < 0.32, `${share}`);
});

test('formatReport: a table with the predictor, the three baselines and the sweep', async (t) => {
  const text = formatReport(await evaluateFiles([SNAPSHOT], { json: false, progress: false }));
  t.regex(text, /snapshot-2013-04-19-subset\.csv\.gz \(snapshot, split all\): 405 drives, 6 failed/);
  for (const name of ['harbinger (p ≥', 'backblaze_rule', 'smartd_default', 'scrutiny', 'sweep:']) t.true(text.includes(name), name);
});

test('interval reader: a reading at each tstart and a last one at the final tstop, dates from power-on hours', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'intervals.csv');
  const header = 'serial_number,model,manufacturer,n_fails,n_records,size_tb,min_date,max_date,min_hours,max_hours,tstart,tstop,fails,smart_5,smart_10,smart_12,smart_187,smart_188,smart_189,smart_196,smart_197,smart_198,smart_197_bin,smart_197_bin_cumsum,smart_197_cumsum';
  await writeFile(
    file,
    [
      header,
      'A1,ST4000DM000,Seagate,1,30,4,2015-01-01,2015-01-31,1000,1720,1000,1240,0,0,0,3,0,4295032833,0,,0,0,FALSE,0,0',
      'A1,ST4000DM000,Seagate,1,30,4,2015-01-01,2015-01-31,1000,1720,1240,1720,1,16,0,3,2,4295032833,0,,8,8,TRUE,1,8',
      '"B2",HGST HMS5C4040BLE640,HGST,0,10,4,2015-03-01,2015-03-11,50,290,50,290,0,0,0,1,,,,0,0,0,FALSE,0,0',
      '',
    ].join('\n'),
  );
  const readings = await collect(file);
  t.deepEqual(readings.map((r) => [r.serial, new Date(r.sample.atMs).toISOString().slice(0, 10), r.sample.powerOnHours, r.failure]), [
    ['A1', '2015-01-01', 1000, false],
    ['A1', '2015-01-11', 1240, false],
    ['A1', '2015-01-31', 1720, true],
    ['B2', '2015-03-01', 50, false],
    ['B2', '2015-03-11', 290, false],
  ]);
  // Seagate's packed 188 (three 16-bit counters of 1) decodes to 1 for the predictor; the baselines get the raw number.
  t.like(readings[1]!, { sample: { reallocatedSectors: 16, reportedUncorrectable: 2, commandTimeouts: 1, pendingSectors: 8, offlineUncorrectable: 8 }, raw: { 5: 16, 188: 4295032833 } });
  t.is(readings[3]!.sample.reportedUncorrectable, undefined, 'not reported by an HGST drive: absent, not 0');
  t.true(BASELINES.scrutiny({ raw: readings[0]!.raw }), 'raw 188 > 100: Scrutiny fails it');
  const report = await evaluateFiles([file], { json: true, progress: false });
  t.like(report, { drives: 2, failed: 1, rows: 3, readings: 5 });
  t.like(report.baselines.smartd_default, { tp: 1, fp: 0 });
});

test('daily snapshot files replay in date order, whatever order they are given in; gzip or not', async (t) => {
  const dir = await tempDir(t);
  const header = 'date,serial_number,model,capacity_bytes,failure,smart_1_raw,smart_5_raw,smart_9_raw,smart_194_raw,smart_197_raw';
  const day1 = join(dir, '2013-04-10.csv');
  const day2 = join(dir, '2013-04-11.csv.gz');
  await writeFile(day1, `${header}\n2013-04-10,X1,Hitachi HDS5C3030ALA630,3000592982016,0,0,0,4031,26,0\n2013-04-10,X2,Hitachi HDS5C3030ALA630,3000592982016,0,0,0,100,26,0\n`);
  await writeFile(day2, gzipSync(`${header}\n2013-04-11,X1,Hitachi HDS5C3030ALA630,3000592982016,1,0,0,4055,26,40\n2013-04-11,X2,Hitachi HDS5C3030ALA630,3000592982016,0,0,0,124,26,0\n`));
  const r = await evaluateFiles([day2, day1], { json: true, progress: false });
  t.deepEqual(r.files, [day1, day2]);
  t.like(r, { format: 'daily', drives: 2, failed: 1, skipped_readings: { out_of_order: 0, after_failure: 0, other_split: 0 } });
  t.like(r.baselines.smartd_default, { tp: 1, fp: 0, lead_days_median: 1 });
});

test('pickCells: only the wanted columns, in order; quoted cells; a short row leaves the rest absent', (t) => {
  t.deepEqual(pickCells('a,b,c,d,e', [0, 2, 4]), ['a', 'c', 'e']);
  t.deepEqual(pickCells('a,,c', [1, 2]), ['', 'c']);
  t.deepEqual(pickCells('a,b', [1, 7]), ['b', undefined]);
  t.deepEqual(pickCells('"x,y",b,"c""d"', [0, 2]), ['x,y', 'c"d']);
});

test('wide daily rows (Backblaze since 2015): the same readings with CRLF line ends, a BOM, rows across read chunks and no final newline', async (t) => {
  const dir = await tempDir(t);
  // 90 columns of other attributes before and after the ones read, as in Backblaze's files.
  const filler = Array.from({ length: 90 }, (_, i) => `smart_${300 + i}_raw`);
  const header = ['date', 'serial_number', 'model', 'capacity_bytes', 'failure', ...filler.slice(0, 45), 'smart_5_raw', 'smart_9_raw', 'smart_187_raw', 'smart_188_raw', 'smart_197_raw', 'smart_198_raw', ...filler.slice(45)];
  const rows: string[] = [];
  for (let day = 0; day < 30; day++) {
    const date = new Date(Date.UTC(2023, 0, 1 + day)).toISOString().slice(0, 10);
    for (let d = 0; d < 200; d++) {
      const failing = d === 7;
      const cells = [date, `ZL${d}`, d % 2 ? 'ST12000NM0008' : 'HGST HUH721212ALN604', '12000138625024', failing && day === 29 ? '1' : '0'];
      cells.push(...Array.from({ length: 45 }, () => '123456789'));
      cells.push(String(failing ? day * 4 : 0), String(30000 + day * 24), failing ? '3' : '0', d % 2 ? '4295032833' : '', failing && day > 20 ? '16' : '0', '0');
      cells.push(...Array.from({ length: 45 }, () => '987654321'));
      rows.push(cells.join(','));
    }
  }
  const plain = join(dir, 'plain.csv');
  const windows = join(dir, 'windows.csv.gz');
  await writeFile(plain, `${[header.join(','), ...rows].join('\n')}\n`);
  await writeFile(windows, gzipSync(`\uFEFF${[header.join(','), ...rows].join('\r\n')}`));
  const a = await collect(plain);
  const b = await collect(windows);
  t.is(a.length, 6000);
  t.deepEqual(b, a);
  const failed = a.filter((r) => r.serial === 'ZL7');
  t.like(failed[29]!, { failure: true, final: true, sample: { reallocatedSectors: 116, pendingSectors: 16, powerOnHours: 30696, reportedUncorrectable: 3 } });
  t.like(a.find((r) => r.serial === 'ZL1')!, { sample: { commandTimeouts: 1 }, raw: { 188: 4295032833 } });
  t.is(a.find((r) => r.serial === 'ZL0')!.raw[188], undefined, 'an empty cell: not reported');
});

test("predictProbability (what evaluate and the trainer replay) is predict()'s probability at every point of real drives", async (t) => {
  let points = 0;
  let alarmed = 0;
  const drives = new Map<string, ReplayDrive>();
  await replayFiles([INTERVALS], 'all', {
    newDrive: (serial, model) => ({ serial, model, timeline: new DriveTimeline(), lastMs: -Infinity }),
    point(_drive, history) {
      const expected = predict(history, history[history.length - 1]!.atMs).probability;
      if (predictProbability(history) !== expected) t.fail(`${history[0]!.serial} at ${history[history.length - 1]!.atMs}`);
      points++;
      if (expected >= MODEL.operatingPoint.degraded) alarmed++;
    },
  }, drives);
  t.true(points > 1000 && alarmed > 20, `${points} points, ${alarmed} alarmed`);
  t.is(predictProbability([]), 0);
});

test('one format at a time: a daily file with an interval file is refused', async (t) => {
  await t.throwsAsync(evaluateFiles([DAILY, INTERVALS], { json: true, progress: false }), { message: /one format at a time/ });
  const dir = await tempDir(t);
  const bad = join(dir, 'other.csv');
  await writeFile(bad, 'a,b,c\n1,2,3\n');
  await t.throwsAsync(evaluateFiles([bad], { json: true, progress: false }), { message: /not a Backblaze drive-stats CSV/ });
});

test('Scrutiny thresholds as Scrutiny matches them, quirks included', (t) => {
  t.false(scrutinyAttributeFails(5, 16), '(4, 16] has a 7.5% annual failure rate');
  t.true(scrutinyAttributeFails(5, 17));
  t.false(scrutinyAttributeFails(5, 80_000), 'beyond the last bucket: a warning only');
  t.false(scrutinyAttributeFails(197, 1), '197 = 1 is in no bucket ((1, 2] excludes 1): a warning only');
  t.true(scrutinyAttributeFails(197, 2));
  t.true(scrutinyAttributeFails(187, 1));
  t.false(scrutinyAttributeFails(188, 100));
  t.true(scrutinyAttributeFails(188, 101));
  t.false(scrutinyAttributeFails(10, 1));
  t.true(scrutinyAttributeFails(10, 2));
  t.true(scrutinyAttributeFails(196, 12));
  t.false(scrutinyAttributeFails(196, 20));
  t.true(BASELINES.smartd_default({ raw: {}, smartPassed: false }));
  t.false(BASELINES.smartd_default({ raw: { 5: 100, 187: 3 } }));
  t.true(BASELINES.backblaze_rule({ raw: { 188: 1 } }));
  t.false(BASELINES.backblaze_rule({ raw: { 9: 100, 10: 5, 196: 3 } }));
});

test('metrics: an alarm counts for a failed drive only within the horizon before the failure; lead from the alarm start', (t) => {
  const fail = Date.UTC(2016, 5, 1);
  const early = new ScoreTrack();
  early.record(fail - 90 * DAY, 0.9);
  early.record(fail - 50 * DAY, 0.01);
  const held = new ScoreTrack();
  held.record(fail - 45 * DAY, 0.9);
  held.record(fail - 10 * DAY, 0.9);
  const late = new ScoreTrack();
  late.record(fail - 60 * DAY, 0.01);
  late.record(fail - 3 * DAY, 0.2);
  const healthy = new ScoreTrack();
  healthy.record(0, 0.01);
  healthy.record(DAY, 0.3);
  healthy.record(2 * DAY, 0.01);
  const outcomes = [outcomeOf(early, fail, 30), outcomeOf(held, fail, 30), outcomeOf(late, fail, 30), outcomeOf(healthy, undefined, 30)];
  t.like(figuresAt(outcomes, 0.1), { tp: 2, fp: 1, tpr: 0.6667, fpr: 1, early_only: 1, lead_days_median: 24, lead_days_q1: 13.5, lead_days_q3: 34.5, lead_7d_or_more: 1 });
  t.like(figuresAt(outcomes, 0.5), { tp: 1, fp: 0, early_only: 1, lead_days_median: 45 });
});

test('metrics: the replace-by date in force at each failure, as the agent keeps it (set by the alarm, only ever nearer), against the failure', (t) => {
  const fail = Date.UTC(2016, 5, 1);
  const cuts = { watch: 0.01, degraded: 0.04, failing: 0.5 };
  const track = (steps: Array<[daysBefore: number, p: number]>): ScoreTrack => {
    const s = new ScoreTrack();
    for (const [daysBefore, p] of steps) s.record(fail - daysBefore * DAY, p);
    return s;
  };
  const cases = {
    steady: track([[40, 0.001], [20, 0.04]]), // due 10 days after the alarm: 10 days before the failure
    late: track([[3, 0.04]]), // due 7 days after the failure
    rising: track([[12, 0.04], [11, 0.08]]), // due -2, then nearer: 11 - 5 = 6 days before
    dip: track([[15, 0.04], [14, 0.02], [10, 0.04]]), // back within a week: the same alarm, due 5 days before
    recovered: track([[25, 0.04], [20, 0.001]]), // 20 days below when it failed: no alarm, no date
    failing: track([[4, 0.04], [2, 0.9]]), // due 6 days after, then the next day: 1 day before
  };
  const due = Object.fromEntries(Object.entries(cases).map(([name, s]) => {
    const alarm = alarmAtFailure(s, fail, cuts);
    return [name, alarm === undefined ? undefined : (fail - alarm.replaceByMs) / DAY];
  }));
  t.deepEqual(due, { steady: 10, late: -7, rising: 6, dip: 5, recovered: undefined, failing: 1 });
  const outcomes = Object.values(cases).map((s) => ({ ...outcomeOf(s, fail, 30), ...(alarmAtFailure(s, fail, cuts) ? { replaceByMs: alarmAtFailure(s, fail, cuts)!.replaceByMs } : {}) }));
  const healthy = outcomeOf(track([[5, 0.9]]), undefined, 30);
  t.deepEqual(replaceByFigures([...outcomes, healthy], cuts.degraded), { detected: 6, before_failure: 4, share: 0.6667, no_date: 1, spare_days_median: 5, spare_days_q1: 1, spare_days_q3: 6 });
  // At a higher cut only the failing drive is caught.
  t.like(replaceByFigures(outcomes, 0.5), { detected: 1 });
});

test('metrics: figuresAtFpr holds the predictor to a false-alarm rate, ties kept below the cut', (t) => {
  const fail = Date.UTC(2016, 5, 1);
  const track = (score: number): ScoreTrack => {
    const s = new ScoreTrack();
    s.record(fail - 5 * DAY, score);
    return s;
  };
  const healthy = [0.9, 0.5, 0.5, 0.2, 0.1].map((score) => outcomeOf(track(score), undefined, 30));
  const failed = [0.6, 0.3].map((score) => outcomeOf(track(score), fail, 30));
  const outcomes = [...healthy, ...failed];
  t.like(figuresAtFpr(outcomes, 0), { fp: 0, tp: 0 });
  t.like(figuresAtFpr(outcomes, 0.2), { fp: 1, fpr: 0.2, tp: 1 });
  // Two healthy drives tie at 0.5: allowing two false alarms admits only the one above them.
  t.like(figuresAtFpr(outcomes, 0.4), { fp: 1, tp: 1 });
  t.like(figuresAtFpr(outcomes, 0.6), { fp: 3, fpr: 0.6, tp: 2 });
  t.like(figuresAtFpr(outcomes, 1), { fp: 5, tp: 2 });
  t.true(figuresAtFpr(outcomes, 0.2).threshold! > 0.5 && figuresAtFpr(outcomes, 0.2).threshold! < 0.6);
});

test("the report holds the predictor to each baseline's FPR: its TPR at equal false alarms", async (t) => {
  const r = await evaluateFiles([INTERVALS], { json: true, progress: false });
  for (const [name, b] of Object.entries(r.baselines)) {
    const at = r.at_baseline_fpr[name as keyof typeof r.baselines];
    t.true(at.fpr <= b.fpr, name);
    t.true(at.tpr >= b.tpr, `${name}: ${at.tpr} < ${b.tpr} at FPR ${at.fpr} ≤ ${b.fpr}`);
  }
  // On this subset: Scrutiny 26 of 40 failed drives at 14 false alarms of 400, harbinger 30 at as many.
  t.like(r.at_baseline_fpr.scrutiny, { tp: 30, fp: 14 });
  t.like(r.at_baseline_fpr.backblaze_rule, { tp: 30, fp: 25 });
  t.like(r.at_baseline_fpr.smartd_default, { tp: 29, fp: 8 });
  t.true(formatReport(r).includes("harbinger at each baseline's FPR"));
});

test('--by-model: per drive model, the predictor and the baselines on the same drives; the models add up to the whole', async (t) => {
  const plain = await evaluateFiles([INTERVALS], { json: true, progress: false });
  t.is(plain.by_model, undefined);
  const r = await evaluateFiles([INTERVALS], { json: true, progress: false, byModel: true });
  const models = r.by_model!;
  t.true(models.length > 5);
  const sum = (f: (m: (typeof models)[number]) => number): number => models.reduce((a, m) => a + f(m), 0);
  t.is(sum((m) => m.drives), r.drives);
  t.is(sum((m) => m.failed), r.failed);
  t.is(sum((m) => m.predictor.tp), r.predictor.tp);
  t.is(sum((m) => m.predictor.fp), r.predictor.fp);
  t.is(sum((m) => m.baselines.scrutiny.tp), r.baselines.scrutiny.tp);
  t.deepEqual(models.map((m) => m.drives), [...models.map((m) => m.drives)].sort((a, b) => b - a));
  for (const m of models) {
    for (const name of ['backblaze_rule', 'smartd_default', 'scrutiny'] as const) t.true(m.at_baseline_fpr[name].fpr <= m.baselines[name].fpr, `${m.model} ${name}`);
  }
  const text = formatReport(r);
  t.regex(text, /by model: .*\(\d+ of \d+ models/);
  t.true(text.includes(models[0]!.model));
});

test('the command: `harbinger evaluate --by-model --json` prints one object with by_model', async (t) => {
  const { stdout } = await execHarbinger(t, ['evaluate', '--by-model', '--json', INTERVALS]);
  const report = JSON.parse(stdout) as EvaluationReport;
  t.is(report.drives, 440);
  t.is(report.by_model!.reduce((a, m) => a + m.drives, 0), 440);
  t.truthy(report.at_baseline_fpr.scrutiny);
});

test('the command on files it cannot read: one line naming the file and the problem, exit 1, no figures', async (t) => {
  const dir = await tempDir(t);
  const whole = await readFile(DAILY);
  const truncated = join(dir, 'truncated.csv.gz');
  await writeFile(truncated, whole.subarray(0, whole.length >> 1));
  const damaged = join(dir, 'damaged.csv.gz');
  const flipped = Buffer.from(whole);
  for (let i = 1000; i < 1064; i++) flipped[i]! ^= 0xff; // bits flipped inside the compressed data
  await writeFile(damaged, flipped);
  const cases: Array<[string, RegExp]> = [
    [truncated, /truncated\.csv\.gz: the gzip data ends early: the file is truncated/],
    [damaged, /damaged\.csv\.gz: the gzip data is damaged/],
    [join(dir, 'missing.csv'), /missing\.csv: no such file/],
    [dir, /: a directory, not a file/],
  ];
  for (const [file, message] of cases) {
    const err = await t.throwsAsync(execHarbinger(t, ['evaluate', '--json', file]));
    const { code, stdout, stderr } = err as Error & { code: number; stdout: string; stderr: string };
    t.is(code, 1, file);
    t.is(stdout, '', 'no report from part of a file');
    t.regex(stderr, message);
    t.is(stderr.trim().split('\n').length, 1, stderr);
  }
});

test('evaluateFiles with another model and a choice of drives (what the trainer\'s cross-validation scores)', async (t) => {
  const even = (serial: string): boolean => fnv1a32(serial) % 2 === 0;
  const serials = new Set((await collect(INTERVALS)).map((r) => r.serial));
  const chosen = await evaluateFiles([INTERVALS], { json: true, progress: false, drives: even });
  t.is(chosen.drives, [...serials].filter(even).length);
  t.true(chosen.drives > 150 && chosen.drives < 290, `${chosen.drives} of ${serials.size}`);
  const other = await evaluateFiles([INTERVALS], { json: true, progress: false, model: withAlarmProbability(MODEL, 0.02) });
  const configured = await evaluateFiles([INTERVALS], { json: true, progress: false, alarmProbability: 0.02 });
  t.deepEqual(other.predictor, configured.predictor);
  t.is(other.predictor.threshold, 0.02);
});

test('replay: readings that only repeat their neighbours are dropped, and every prediction is what the full history gives', (t) => {
  const start = Date.UTC(2016, 0, 1);
  const timeline = new DriveTimeline();
  const full: DiskSample[] = [];
  let longest = 0;
  for (let day = 0; day < 120; day++) {
    // Quiet, then reallocations on days 40-44, pending sectors that come and go, quiet again.
    const reallocated = day < 40 ? 0 : Math.min(day - 39, 5) * 12;
    const pending = day >= 70 && day < 73 ? 8 : 0;
    const sample: DiskSample = { atMs: start + day * DAY, protocol: 'ata', serial: 'S1', model: 'ST4000DM000', powerOnHours: 1000 + 24 * day, reallocatedSectors: reallocated, pendingSectors: pending, reportedUncorrectable: 0 };
    full.push(sample);
    timeline.push(sample, (history) => {
      const expected = predict(full, sample.atMs);
      t.deepEqual(predict(history, sample.atMs), expected, `day ${day}`);
    });
    longest = Math.max(longest, timeline.history.length);
  }
  t.true(longest < 20, `the history held ${longest} readings`);
  // Power-on hours going back may be another drive: the reading before it is kept.
  const replay = (hours: number[]): number => {
    const timeline = new DriveTimeline();
    hours.forEach((h, i) => timeline.push({ atMs: start + i * DAY, protocol: 'ata', serial: 'S2', powerOnHours: h }, () => {}));
    return timeline.history.length;
  };
  t.is(replay([100, 124, 148]), 2);
  t.is(replay([100, 124, 50]), 3);
});

test("--alarm-probability: the predictor scored with the agent's configured cut, which is the sweep's point there", async (t) => {
  const own = await evaluateFiles([INTERVALS], { json: true, progress: false });
  const r = await evaluateFiles([INTERVALS], { json: true, progress: false, alarmProbability: 0.01 });
  t.is(r.predictor.threshold, 0.01);
  t.true(r.predictor.tp >= own.predictor.tp && r.predictor.fp >= own.predictor.fp);
  t.like(r.predictor, { tpr: r.sweep.find((s) => s.threshold === 0.01)!.tpr, fpr: r.sweep.find((s) => s.threshold === 0.01)!.fpr });
  t.deepEqual(r.baselines, own.baselines);
  const { stdout } = await execHarbinger(t, ['evaluate', '--alarm-probability', '0.01', '--json', INTERVALS]);
  t.is((JSON.parse(stdout) as EvaluationReport).predictor.tp, r.predictor.tp);
  const bad = await execHarbinger(t, ['evaluate', '--alarm-probability', '1.5', INTERVALS]).then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  t.is(bad?.code, 78, 'a bad flag is a configuration problem, as everywhere');
  t.regex(bad!.stderr, /option '--alarm-probability <p>' argument '1\.5' is invalid\. Give a probability between 0 and 1, exclusive\./);
});

test('missed_without_signal: the misses that showed nothing in SMART 5/187/188/197/198 in the horizon before failing', async (t) => {
  const dir = await tempDir(t);
  const header = 'date,serial_number,model,capacity_bytes,failure,smart_1_raw,smart_5_raw,smart_9_raw,smart_194_raw,smart_197_raw';
  const date = (d: number): string => new Date(Date.UTC(2013, 3, 1) + d * DAY).toISOString().slice(0, 10);
  const rows: string[] = [];
  // 46 days each; a failed drive fails on the last. [serial, failed, reallocated on day d, pending on day d]
  const drives: Array<[string, boolean, (d: number) => number, (d: number) => number]> = [
    ['CLEAN', true, () => 0, () => 0],
    ['SCAR', true, () => 1, () => 0],
    ['PENDING', true, () => 0, (d) => (d < 40 ? 0 : 200 + 10 * d)],
    // Pending sectors that cleared 40 days before the failure: nothing within the 30-day horizon.
    ['CLEARED', true, () => 0, (d) => (d < 6 ? 3 : 0)],
    ['HEALTHY', false, () => 0, () => 0],
  ];
  for (let d = 0; d < 46; d++) {
    for (const [serial, failed, realloc, pending] of drives) {
      rows.push(`${date(d)},${serial},Hitachi HDS5C3030ALA630,3000592982016,${failed && d === 45 ? 1 : 0},0,${realloc(d)},${1000 + 24 * d},26,${pending(d)}`);
    }
  }
  const file = join(dir, 'daily.csv');
  await writeFile(file, `${header}\n${rows.join('\n')}\n`);
  // An alarm the model never reaches: only the burst of new pending sectors is caught (a rule's
  // floor); of the three misses, the old scar showed a count, the other two nothing in the horizon.
  const high = await evaluateFiles([file], { json: true, progress: false, alarmProbability: 0.99 });
  t.like(high, { failed: 4, predictor: { tp: 1, missed_without_signal: 2 } });
  t.is(high.baselines.backblaze_rule.tp, 2);
  t.regex(formatReport(high), /^Of the 3 failed drives it misses, 2 showed nothing in SMART 5, 187, 188, 197 or 198 in the 30 days before failing\.$/m);
  // An alarm every reading reaches: no misses, none silent.
  const low = await evaluateFiles([file], { json: true, progress: false, alarmProbability: 1e-9 });
  t.like(low.predictor, { tp: 4, missed_without_signal: 0 });
});

test('unrated_models: the drives of models the model has no failure rate for, scored apart', async (t) => {
  const dir = await tempDir(t);
  const header = 'date,serial_number,model,capacity_bytes,failure,smart_1_raw,smart_5_raw,smart_9_raw,smart_194_raw,smart_197_raw';
  const date = (d: number): string => new Date(Date.UTC(2013, 3, 1) + d * DAY).toISOString().slice(0, 10);
  // [serial, model, failed, pending sectors]: two models in the table, two that are not.
  const drives: Array<[string, string, boolean, number]> = [
    ['KNOWN1', 'Hitachi HDS5C3030ALA630', true, 40],
    ['KNOWN2', 'ST4000DM000', false, 0],
    ['NEW1', 'NEWCO NX16000', true, 40],
    ['NEW2', 'NEWCO NX16000', false, 0],
    ['NEW3', 'OTHERCO OC8', false, 0],
  ];
  const rows: string[] = [];
  for (let d = 0; d < 20; d++) {
    for (const [serial, model, failed, pending] of drives) rows.push(`${date(d)},${serial},${model},3000592982016,${failed && d === 19 ? 1 : 0},0,0,${1000 + 24 * d},26,${d >= 15 ? pending : 0}`);
  }
  const file = join(dir, 'daily.csv');
  await writeFile(file, `${header}\n${rows.join('\n')}\n`);
  t.false(MODEL.hasFailureRate('NEWCO NX16000'));
  t.true(MODEL.hasFailureRate('Hitachi HDS5C3030ALA630') && MODEL.hasFailureRate('ST4000DM000'));
  const report = await evaluateFiles([file], { json: true, progress: false, alarmProbability: 0.01 });
  t.like(report.unrated_models, { models: 2, drives: 3, failed: 1, predictor: { tp: 1, fp: 0 }, baselines: { scrutiny: { tp: 1, fp: 0 } } });
  t.regex(formatReport(report), /^3 drives \(1 failed\) are of 2 models without a failure rate in the model \(the overall rate stands in\): on them harbinger 100\.0% at 0\.0% FPR, scrutiny 100\.0% at 0\.0%, harbinger at scrutiny's FPR 100\.0%\.$/m);
  // Only rated models: nothing to set apart, and no line.
  const known = await evaluateFiles([file], { json: true, progress: false, drives: (serial) => serial.startsWith('KNOWN') });
  t.is(known.unrated_models, null);
  t.notRegex(formatReport(known), /without a failure rate/);
});

test('--model FILE: a model file scored in place of the shipped one, named in the report', async (t) => {
  const dir = await tempDir(t);
  const cli = (...args: string[]): Promise<{ stdout: string }> => execHarbinger(t, ['evaluate', ...args]);
  const shippedFile = repoPath('src', 'predict', 'model-weights.json');
  const weights = JSON.parse(await readFile(shippedFile, 'utf8')) as { operatingPoint: { degraded: number } };
  weights.operatingPoint.degraded = 0.02;
  const moved = join(dir, 'moved.json');
  await writeFile(moved, JSON.stringify(weights));

  const withoutRuntime = (stdout: string): Partial<EvaluationReport> => {
    const { runtime_seconds: _, ...rest } = JSON.parse(stdout) as EvaluationReport;
    return rest;
  };
  const shipped = withoutRuntime((await cli('--json', INTERVALS)).stdout);
  t.is(shipped.model_file, undefined, 'the shipped model: no model_file');
  t.deepEqual(withoutRuntime((await cli('--json', '--model', shippedFile, INTERVALS)).stdout), { ...shipped, model_file: shippedFile });

  const report = JSON.parse((await cli('--json', '--model', moved, INTERVALS)).stdout) as EvaluationReport;
  t.is(report.model_file, moved);
  t.deepEqual(report.predictor, (await evaluateFiles([INTERVALS], { json: true, progress: false, alarmProbability: 0.02 })).predictor);
  t.not(report.predictor.tp, shipped.predictor!.tp, 'the file, not the shipped model, was scored');
  t.regex((await cli('--model', moved, INTERVALS)).stdout, new RegExp(`^model: ${moved.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(not the shipped model\\)$`, 'm'));
});

test('--model with a file that is not a model: one line naming the file and the problem, exit 1, no figures', async (t) => {
  const dir = await tempDir(t);
  const shipped = JSON.parse(await readFile(repoPath('src', 'predict', 'model-weights.json'), 'utf8')) as Record<string, unknown> & { trees: Array<{ left: number[] }>; operatingPoint: Record<string, number> };
  const write = async (name: string, content: string): Promise<string> => {
    await writeFile(join(dir, name), content);
    return join(dir, name);
  };
  const backwards = structuredClone(shipped);
  backwards.trees[0]!.left[0] = 0; // a node pointing at itself: the tree would never end
  const falling = structuredClone(shipped);
  falling.operatingPoint.watch = 0.9;
  const cases: Array<[string, RegExp]> = [
    [join(dir, 'missing.json'), /missing\.json: no such file/],
    [await write('csv.json', 'serial_number,model\n'), /csv\.json: not JSON \(.*\); --model takes a file written by scripts\/train-model\.mjs --out/],
    [await write('empty.json', '{}'), /empty\.json: not a harbinger model: the file must have required property 'format'; the file must have required property 'features'; .* \(and 2 more\); --model takes/],
    [await write('rates.json', JSON.stringify({ ...shipped, modelFailureRates: { rates: {} } })), /rates\.json: not a harbinger model: \/modelFailureRates must have required property 'unknown'/],
    [await write('leaves.json', JSON.stringify({ ...shipped, trees: [{ ...shipped.trees[0], value: 'none' }] })), /leaves\.json: not a harbinger model: \/trees\/0\/value must be array/],
    [await write('backwards.json', JSON.stringify(backwards)), /backwards\.json: not a harbinger model: tree 0 is malformed/],
    [await write('falling.json', JSON.stringify(falling)), /falling\.json: not a harbinger model: operating points must rise/],
    [await write('feature.json', JSON.stringify({ ...shipped, features: ['spin_retries', ...(shipped.features as string[]).slice(1)] })), /feature\.json: not a harbinger model: unknown feature "spin_retries"/],
  ];
  for (const [file, message] of cases) {
    const err = await t.throwsAsync(execHarbinger(t, ['evaluate', '--json', '--model', file, INTERVALS]));
    const { code, stdout, stderr } = err as Error & { code: number; stdout: string; stderr: string };
    t.is(code, 1, file);
    t.is(stdout, '', 'no report');
    t.regex(stderr, message);
    t.is(stderr.trim().split('\n').length, 1, stderr);
  }
});
