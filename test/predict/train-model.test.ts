/**
 * scripts/train-model.mjs, the script the shipped weights come from: deterministic (the same files
 * give the same bytes), training only on its side of the by-drive split, writing a model the agent
 * loads; and, where Backblaze's files are beside the checkout (../shared, as in CI), writing
 * exactly the shipped src/predict/model-weights.json from them.
 */
import { execHarbinger } from '../helpers/agent.js';
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { readBackblaze } from '../../src/predict/evaluate/backblaze-csv.js';
import { sideOf } from '../../src/predict/evaluate/split.js';
import { loadModel, MODEL, type ModelFile } from '../../src/predict/model.js';
import { predict } from '../../src/predict/predictor.js';
import type { DiskSample } from '../../src/predict/types.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const TRAINER = repoPath('scripts', 'train-model.mjs');
const INTERVALS = repoPath('test', 'fixtures', 'backblaze', 'intervals-2013-2016-subset.csv.gz');
const DAILY = repoPath('test', 'fixtures', 'backblaze', 'daily-2013-subset.csv.gz');
const SHARED = repoPath('..', 'shared', 'data', 'disk-failure');

async function train(out: string, args: string[]): Promise<ModelFile & { training: Record<string, unknown> }> {
  await run(process.execPath, [TRAINER, ...args, '--out', out], { cwd: repoPath(), maxBuffer: 1 << 20 });
  return JSON.parse(await readFile(out, 'utf8'));
}

/** Drives of a file on the training side of the split, and how many of them failed. */
async function trainingSide(file: string): Promise<{ drives: number; failed: number }> {
  const drives = new Map<string, boolean>();
  for await (const r of readBackblaze(file)) if (sideOf(r.serial) === 'train') drives.set(r.serial, (drives.get(r.serial) ?? false) || r.failure);
  return { drives: drives.size, failed: [...drives.values()].filter(Boolean).length };
}

test('the trainer on the committed subsets: the same bytes twice, the training side only, a model the predictor loads', async (t) => {
  const dir = await tempDir(t);
  const args = ['--intervals', INTERVALS, '--daily', DAILY];
  const first = await train(join(dir, 'a.json'), args);
  await train(join(dir, 'b.json'), args);
  t.is(await readFile(join(dir, 'a.json'), 'utf8'), await readFile(join(dir, 'b.json'), 'utf8'));

  const sides = [await trainingSide(INTERVALS), await trainingSide(DAILY)];
  t.deepEqual(first.training.drives, sides.map((s) => s.drives));
  t.deepEqual(first.training.failed, sides.map((s) => s.failed));
  t.true(sides[0]!.drives < 440 && sides[0]!.drives > 250, 'the subset has held-out drives the trainer left out');
  t.deepEqual(first.features, MODEL.features, 'the features the agent computes');
  t.is(first.trees.length, 60);

  const model = loadModel(first);
  const { watch, degraded, failing } = model.operatingPoint;
  t.true(watch > 0 && watch <= degraded && degraded <= failing && failing < 1);
  const day = 86_400_000;
  const history = (pending: (d: number) => number): DiskSample[] =>
    Array.from({ length: 40 }, (_, d) => ({ atMs: d * day, protocol: 'ata', model: 'ST4000DM000', powerOnHours: 9000 + 24 * d, reallocatedSectors: 0, pendingSectors: pending(d), offlineUncorrectable: pending(d), reportedUncorrectable: 0 }));
  const clean = predict(history(() => 0), 39 * day, model);
  const going = predict(history((d) => (d < 30 ? 0 : (d - 29) * 40)), 39 * day, model);
  t.true(going.probability > clean.probability, `${going.probability} > ${clean.probability}`);
  t.is(clean.level, 'ok');
});

test('--cv on the committed subsets: two folds, each file scored on the held-out half against the three baselines', async (t) => {
  const { stdout } = await run(process.execPath, [TRAINER, '--intervals', INTERVALS, '--daily', DAILY, '--cv', '--cv-by', 'model'], { cwd: repoPath(), maxBuffer: 1 << 20 });
  const held = stdout.split('\n').filter((line) => line.startsWith('  held: harbinger '));
  t.is(held.length, 4, stdout);
  for (const line of held) t.regex(line, /at the cut; backblaze_rule [\d.]+% @ [\d.]+% vs [\d.]+% @ [\d.]+%; smartd_default .*; scrutiny [\d.]+% @ [\d.]+% vs [\d.]+% @ [\d.]+%$/);
  // The summary repeats the interval file's per-fold figures (held@2.5%, harbinger vs Scrutiny at Scrutiny's FPR) and their means.
  const lines = stdout.trimEnd().split('\n');
  const summary = /^summary, interval file, held-out halves: TPR at 2\.5% FPR ([\d.]+)% \/ ([\d.]+)% \(mean ([\d.]+)%\); at Scrutiny's FPR harbinger ([\d.]+)% \/ ([\d.]+)% \(mean [\d.]+%\) vs Scrutiny ([\d.]+)% \/ ([\d.]+)% \(mean [\d.]+%\)$/.exec(lines.at(-1) ?? '');
  if (summary === null) return t.fail(stdout);
  const folds = lines.filter((line) => line.startsWith('fold ') && line.includes(basename(INTERVALS)));
  t.is(folds.length, 2, stdout);
  const at25 = folds.map((line) => (JSON.parse(/held@2\.5% (\{.*\})$/.exec(line)![1]!) as { tpr: number }).tpr * 100);
  t.deepEqual([Number(summary[1]), Number(summary[2])], at25.map((v) => Number(v.toFixed(2))));
  t.is(Number(summary[3]), Number(((at25[0]! + at25[1]!) / 2).toFixed(2)));
  const intervalHeld = lines.filter((line, i) => line.startsWith('  held: harbinger ') && lines[i - 1]!.includes(basename(INTERVALS)));
  const scrutiny = intervalHeld.map((line) => /scrutiny ([\d.]+)% @ [\d.]+% vs ([\d.]+)% @/.exec(line)!);
  // The held lines round to 0.1 points, the summary to 0.01.
  const pairs = [[summary[4], scrutiny[0]![2]], [summary[5], scrutiny[1]![2]], [summary[6], scrutiny[0]![1]], [summary[7], scrutiny[1]![1]]];
  for (const [inSummary, inHeld] of pairs) t.true(Math.abs(Number(inSummary) - Number(inHeld)) <= 0.051, `${inSummary} vs ${inHeld}`);
  const refused = await t.throwsAsync(run(process.execPath, [TRAINER, '--intervals', INTERVALS, '--daily', DAILY, '--cv', '--cv-by', 'disk'], { cwd: repoPath() }));
  t.is((refused as Error & { code: number }).code, 2);
  t.is((refused as Error & { stderr: string }).stderr, 'train-model: --cv-by: drive or model, not "disk"\n');
});

test('the fitting settings as flags: in the file, in its command, and the file scored by `harbinger evaluate --model`', async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'small.json');
  const written = await train(out, ['--intervals', INTERVALS, '--daily', DAILY, '--trees', '5', '--depth', '2', '--failed-weight', '2']);
  t.is(written.trees.length, 5);
  const depth = (tree: ModelFile['trees'][number], node = 0): number => (tree.feature[node]! < 0 ? 0 : 1 + Math.max(depth(tree, tree.left[node]!), depth(tree, tree.right[node]!)));
  t.true(written.trees.every((tree) => depth(tree) <= 2), JSON.stringify(written.trees.map((tree) => depth(tree))));
  t.deepEqual(written.training.gradientBoosting, { trees: 5, depth: 2, eta: 0.1, lambda: 1, minHessian: 0.5 });
  t.regex(String(written.training.loss), /failed drives weigh 2$/);
  t.regex(String(written.training.command), / --trees 5 --depth 2 --failed-weight 2$/);

  const { stdout } = await execHarbinger(t, ['evaluate', '--json', '--model', out, INTERVALS]);
  const report = JSON.parse(stdout) as { model_file: string; predictor: { threshold: number } };
  t.is(report.model_file, out);
  t.is(report.predictor.threshold, written.operatingPoint.degraded);

  for (const [flag, value, message] of [['--depth', '0', /--depth must be a positive whole number, not "0" \(default 3\)/], ['--trees', '2.5', /--trees must be a positive whole number/], ['--eta', 'fast', /--eta must be a positive number, not "fast" \(default 0\.1\)/]] as const) {
    const err = await t.throwsAsync(run(process.execPath, [TRAINER, '--intervals', INTERVALS, '--daily', DAILY, flag, value, '--out', join(dir, 'bad.json')], { cwd: repoPath() }));
    t.is((err as Error & { code: number }).code, 2, flag);
    t.regex((err as Error & { stderr: string }).stderr, message);
  }
  t.false(existsSync(join(dir, 'bad.json')), 'nothing written for a refused setting');
});

const reproduce = existsSync(join(SHARED, 'backblaze-2013-2016-intervals.csv.gz')) ? test : test.skip;
reproduce('the shipped weights are what the trainer writes from the Backblaze files in ../shared/data/disk-failure', async (t) => {
  const dir = await tempDir(t);
  await train(join(dir, 'weights.json'), ['../shared/data/disk-failure']);
  const written = await readFile(join(dir, 'weights.json'), 'utf8');
  const shipped = await readFile(repoPath('src', 'predict', 'model-weights.json'), 'utf8');
  t.true(written === shipped, 'src/predict/model-weights.json differs from what scripts/train-model.mjs writes: retrain and commit it');
});
