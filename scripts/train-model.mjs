#!/usr/bin/env node
// Trains the predictor's model (src/predict/model-weights.json) from Backblaze's public data, on
// the TRAINING side of the by-drive split only (src/predict/evaluate/split.ts): the held-out 30% of
// drives never reach this script. Deterministic: the same files give the same bytes (no sampling,
// no random seed; every sum runs in file order).
//
//   npx tsc -p . && node scripts/train-model.mjs ../shared/data/disk-failure [--cv [--cv-by drive|model]] [--out FILE]
//     [--intervals FILE] [--daily FILE]   (other files than the directory's two)
//     [--trees N] [--depth N] [--eta X] [--lambda X] [--min-hessian X]   (the boosting; defaults 60, 3, 0.1, 1, 0.5)
//     [--temperature X] [--failed-weight X]   (the drive-level loss; defaults 0.1, 5)
//   A model written elsewhere with --out is measured by `harbinger evaluate --model FILE`.
//
// What it does:
//  1. Replays each file's training drives exactly as `harbinger evaluate` does (replay.ts: every
//     reading, plus repeats where a growth window rolls off) and takes the model's features at each
//     point (features.ts: current counts, 7/30-day growth, 30-day peak, power-on hours).
//  2. The failure rate of each drive model: the share of its training drives that failed, smoothed
//     towards the share over all drives (MODEL_RATE_SMOOTHING drives' worth). The trees learn from
//     out-of-fold rates (a drive's own failure never counts in the rate it is trained with: each
//     half of the drives gets the other half's rates); the file keeps the rates of all of them.
//  3. Grows a gradient-boosted tree ensemble (depth 3, shrinkage 0.1, fixed candidate thresholds
//     per feature) with a drive-level loss, because the figures that matter are drive-level: a
//     never-failed drive is a false alarm if its score is high at ANY time, a failed drive is
//     caught if its score is high at some time in the 30 days before it failed. So each drive is
//     one example whose score is the soft maximum (temperature MIL.temperature, in log-odds) of
//     its distinct feature vectors: over all its life for a drive that never failed, over the
//     30-day window for a failed one (its earlier readings are left out); logistic loss on that,
//     failed drives weighted MIL.failedWeight. (Multiple-instance boosting; the usual per-reading
//     loss rewards getting the many quiet days of a drive right, not its worst day.)
//  4. Calibrates it (Platt: a·z + b) so that its output is the probability of failing within 30
//     days per drive-day: every point of every training drive, weighted by the days its state held.
//  5. Replays the training drives again through predictProbability() (the agent's decision: the
//     new model, rules included) and sets the operating points from the drive-level false-alarm rate on the training drives:
//     degraded where at most TARGET_FPR of the interval file's never-failed drives are ever alarmed,
//     watch at WATCH_FPR, failing at 0.5 (or higher, if the degraded cut is already above).
//     TARGET_FPR (2.2%) leaves a margin below the 2.5% goal for drives never seen (the cut is
//     chosen on the drives the trees were fitted to, where false alarms are a little rarer).
// --cv: instead of writing, prints 2-fold cross-validated figures inside the training side (folds
//     by a hash of the serial, or with --cv-by model of the drive model's key; each fold's trees,
//     rates and cut are fitted on one half of the training drives and scored on the other: `held`,
//     and `held@2.5%` at the cut that gives at most 2.5% false alarms on that half, a point of its
//     ROC curve), then each baseline on the same held-out drives against the model held to that
//     baseline's FPR, as `harbinger evaluate` reports them; and last a summary line for the interval
//     file (each fold's held-out TPR at 2.5% FPR and their mean; harbinger against Scrutiny at
//     Scrutiny's FPR), the figures a change to the model is judged by.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fnv1a32 } from '../dist/src/predict/evaluate/split.js';
import { DriveTimeline, replayFiles } from '../dist/src/predict/evaluate/replay.js';
import { extractFeatures, compileFeature, modelKey } from '../dist/src/predict/features.js';
import { loadModel } from '../dist/src/predict/model.js';
import { predictProbability, HORIZON_DAYS } from '../dist/src/predict/predictor.js';
import { BASELINE_NAMES } from '../dist/src/predict/evaluate/baselines.js';
import { evaluateFiles } from '../dist/src/predict/evaluate/run.js';

/** The fitting's settings, by flag: the shipped model's values. */
const SETTINGS = {
  trees: { value: 60, integer: true },
  depth: { value: 3, integer: true },
  eta: { value: 0.1 },
  lambda: { value: 1 },
  'min-hessian': { value: 0.5 },
  temperature: { value: 0.1 },
  'failed-weight': { value: 5 },
};
/** A setting's flag as a number: positive (an integer where it counts), or the script stops saying so. */
function settingOf(flag, text, fallback, integer) {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
    console.error(`train-model: --${flag} must be a positive ${integer ? 'whole number' : 'number'}, not ${JSON.stringify(text)} (default ${fallback})`);
    process.exit(2);
  }
  return value;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    cv: { type: 'boolean', default: false },
    'cv-by': { type: 'string', default: 'drive' },
    out: { type: 'string', default: 'src/predict/model-weights.json' },
    // Other files of the same two formats (the tests train on the committed subsets).
    intervals: { type: 'string' },
    daily: { type: 'string' },
    // The fitting's settings (defaults: the shipped model's), for measuring a change to them with
    // --cv, or with `harbinger evaluate --model` on a file written with --out.
    ...Object.fromEntries(Object.keys(SETTINGS).map((flag) => [flag, { type: 'string' }])),
  },
});
if (!['drive', 'model'].includes(values['cv-by'])) {
  console.error(`train-model: --cv-by: drive or model, not ${JSON.stringify(values['cv-by'])}`);
  process.exit(2);
}
const setting = Object.fromEntries(Object.entries(SETTINGS).map(([flag, { value, integer }]) => [flag, settingOf(flag, values[flag], value, integer)]));
const dataDir = positionals[0] ?? '../shared/data/disk-failure';
const FILES = [values.intervals ?? join(dataDir, 'backblaze-2013-2016-intervals.csv.gz'), values.daily ?? join(dataDir, 'backblaze-2013-daily.csv.gz')];
const FEATURES = [
  'reallocated_sectors', 'reallocated_sectors_growth_7d', 'reallocated_sectors_growth_30d',
  'reported_uncorrectable', 'reported_uncorrectable_growth_30d', 'command_timeouts',
  'pending_sectors', 'pending_sectors_growth_30d', 'pending_sectors_peak_30d',
  'offline_uncorrectable', 'offline_uncorrectable_growth_30d',
  'power_on_hours', 'model_failure_rate',
];
const COUNTS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 100, 150, 250, 500, 1000, 2000, 5000, 10000];
const CANDIDATES = {
  power_on_hours: [500, 1000, 2000, 3000, 4000, 5000, 6000, 8000, 10000, 12000, 15000, 18000, 21000, 25000, 30000, 35000, 40000, 50000],
  model_failure_rate: [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5],
};
const candidatesOf = (name) => CANDIDATES[name] ?? COUNTS;
const GB = { trees: setting.trees, depth: setting.depth, eta: setting.eta, lambda: setting.lambda, minHessian: setting['min-hessian'] };
const MIL = { temperature: setting.temperature, failedWeight: setting['failed-weight'] };
/** Pseudo-drives at the overall failure share added to each model's count; models with fewer drives are left out of the table. */
const MODEL_RATE_SMOOTHING = 20;
const MODEL_RATE_MIN_DRIVES = 5;
const TARGET_FPR = 0.022;
const WATCH_FPR = 0.05;
const DAY_MS = 86_400_000;
const RATE_INDEX = FEATURES.indexOf('model_failure_rate');
const HOURS_INDEX = FEATURES.indexOf('power_on_hours');
// power_on_hours: NaN while collecting when a reading has none; the median fills it in below.
const accessors = FEATURES.map((name) => (name === 'model_failure_rate' ? () => 0 : compileFeature(name, { power_on_hours: Number.NaN })));
const round = (v, places = 6) => Math.round(v * 10 ** places) / 10 ** places;

/** Replays one file's training drives; per drive, the episodes of its feature vector. */
async function collect(file) {
  const drives = new Map();
  const visitor = {
    newDrive: (serial, model) => ({ serial, model, timeline: new DriveTimeline(), lastMs: -Infinity, starts: [], vectors: [] }),
    point(drive, history) {
      const features = extractFeatures(history);
      const x = accessors.map((read) => read(features));
      const last = drive.vectors[drive.vectors.length - 1];
      if (last && last.every((v, i) => v === x[i] || (Number.isNaN(v) && Number.isNaN(x[i])))) return;
      drive.starts.push(history[history.length - 1].atMs);
      drive.vectors.push(x);
    },
  };
  await replayFiles([file], 'train', visitor, drives);
  return [...drives.values()];
}

/** The median power-on hours over all points (for readings without them). */
function medianHours(drives) {
  const hours = drives.flatMap((d) => d.vectors.map((x) => x[HOURS_INDEX])).filter((h) => Number.isFinite(h)).sort((a, b) => a - b);
  return hours.length === 0 ? 0 : Math.round(hours[Math.floor(hours.length / 2)]);
}

/** Failure rates by modelKey over `drives` (a drive in both files counts once), smoothed. */
function modelRates(drives) {
  const bySerial = new Map();
  for (const d of drives) bySerial.set(d.serial, { key: modelKey(d.model), failed: (bySerial.get(d.serial)?.failed ?? false) || d.failureMs !== undefined });
  const counts = new Map();
  let all = 0;
  let failed = 0;
  for (const { key, failed: f } of bySerial.values()) {
    all++;
    if (f) failed++;
    if (key === undefined) continue;
    const c = counts.get(key) ?? { drives: 0, failed: 0 };
    c.drives++;
    if (f) c.failed++;
    counts.set(key, c);
  }
  const overall = failed / all;
  const rates = {};
  for (const key of [...counts.keys()].sort()) {
    const c = counts.get(key);
    if (c.drives >= MODEL_RATE_MIN_DRIVES) rates[key] = round((c.failed + MODEL_RATE_SMOOTHING * overall) / (c.drives + MODEL_RATE_SMOOTHING), 4);
  }
  return { unknown: round(overall, 4), rates };
}
const rateOf = (table, model) => {
  const key = modelKey(model);
  return key !== undefined && Object.hasOwn(table.rates, key) ? table.rates[key] : table.unknown;
};
/** Sets every drive's model_failure_rate from `tableFor(drive)`. */
function setRates(drives, tableFor) {
  for (const d of drives) {
    const rate = rateOf(tableFor(d), d.model);
    for (const x of d.vectors) x[RATE_INDEX] = rate;
  }
}

/** Episodes with their labels and the days they held; `inWindow` null = a failed drive's early point. */
function episodes(drive) {
  const out = [];
  const end = drive.failureMs ?? drive.lastMs + DAY_MS;
  const windowStart = drive.failureMs === undefined ? -Infinity : drive.failureMs - HORIZON_DAYS * DAY_MS;
  drive.vectors.forEach((x, i) => {
    const start = drive.starts[i];
    const stop = drive.starts[i + 1] ?? end;
    if (start >= end) return;
    const positiveDays = drive.failureMs === undefined ? 0 : Math.max(0, stop - Math.max(start, windowStart)) / DAY_MS;
    out.push({ x, start, stop, days: Math.max(stop - start, 0) / DAY_MS, positiveDays, inScope: stop > windowStart });
  });
  return out;
}

const binOf = (v, cands) => {
  let k = 0;
  while (k < cands.length && v >= cands[k]) k++;
  return k;
};

/**
 * The drives as multiple-instance groups: each drive's distinct binned vectors in scope (failed:
 * within the window). Drives with one distinct vector are merged across drives (same label and
 * vector: one group, weighted by their number), which is most of them.
 */
function milGroups(drives) {
  const cands = FEATURES.map(candidatesOf);
  const rows = [];
  const groups = [];
  const singles = new Map();
  for (const d of drives) {
    const y = d.failureMs === undefined ? 0 : 1;
    const distinct = new Map();
    for (const e of episodes(d)) {
      if (!e.inScope) continue;
      const bins = Uint8Array.from(e.x, (v, j) => binOf(v, cands[j]));
      distinct.set(bins.join(','), bins);
    }
    if (distinct.size === 0) continue;
    const w = y === 1 ? MIL.failedWeight : 1;
    if (distinct.size === 1) {
      const [[key, bins]] = distinct;
      const group = singles.get(`${y}|${key}`);
      if (group) group.w += w;
      else {
        const g = { rows: [rows.length], y, w };
        rows.push(bins);
        singles.set(`${y}|${key}`, g);
        groups.push(g);
      }
      continue;
    }
    const g = { rows: [], y, w };
    for (const bins of distinct.values()) {
      g.rows.push(rows.length);
      rows.push(bins);
    }
    groups.push(g);
  }
  return { rows, groups, cands };
}

function trainTrees(drives) {
  const { rows, groups, cands } = milGroups(drives);
  const n = rows.length;
  const dims = FEATURES.length;
  const cols = Array.from({ length: dims }, (_, j) => Uint8Array.from(rows, (b) => b[j]));
  const nBins = Math.max(...cands.map((c) => c.length)) + 1;
  let sw = 0;
  let sp = 0;
  for (const g of groups) (sw += g.w), (sp += g.w * g.y);
  const base = round(Math.log(sp / (sw - sp)));
  const F = new Float64Array(n).fill(base);
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  const tau = MIL.temperature;
  const trees = [];
  for (let t = 0; t < GB.trees; t++) {
    g.fill(0);
    h.fill(0);
    for (const group of groups) {
      let max = -Infinity;
      for (const r of group.rows) if (F[r] > max) max = F[r];
      const soft = group.rows.map((r) => Math.exp((F[r] - max) / tau));
      let z = 0;
      for (const s of soft) z += s;
      const p = 1 / (1 + Math.exp(-(max + tau * Math.log(z))));
      group.rows.forEach((r, i) => {
        const share = soft[i] / z;
        g[r] += group.w * (p - group.y) * share;
        h[r] += group.w * p * (1 - p) * share;
      });
    }
    const tree = { feature: [], threshold: [], left: [], right: [], value: [] };
    const sumG = new Float64Array(nBins);
    const sumH = new Float64Array(nBins);
    const grow = (ix, depth) => {
      const node = tree.feature.length;
      tree.feature.push(-1), tree.threshold.push(0), tree.left.push(0), tree.right.push(0), tree.value.push(0);
      let G = 0;
      let H = 0;
      for (const i of ix) (G += g[i]), (H += h[i]);
      let best;
      if (depth < GB.depth) {
        for (let j = 0; j < dims; j++) {
          sumG.fill(0);
          sumH.fill(0);
          const col = cols[j];
          for (const i of ix) (sumG[col[i]] += g[i]), (sumH[col[i]] += h[i]);
          let GL = 0;
          let HL = 0;
          for (let k = 0; k < cands[j].length; k++) {
            GL += sumG[k];
            HL += sumH[k];
            const GR = G - GL;
            const HR = H - HL;
            if (HL < GB.minHessian || HR < GB.minHessian) continue;
            const gain = (GL * GL) / (HL + GB.lambda) + (GR * GR) / (HR + GB.lambda) - (G * G) / (H + GB.lambda);
            if (gain > 1e-9 && (!best || gain > best.gain)) best = { gain, j, k };
          }
        }
      }
      if (!best) {
        const value = round((-GB.eta * G) / (H + GB.lambda));
        tree.value[node] = value;
        for (const i of ix) F[i] += value;
        return node;
      }
      tree.feature[node] = best.j;
      tree.threshold[node] = cands[best.j][best.k];
      const col = cols[best.j];
      const left = [];
      const right = [];
      for (const i of ix) (col[i] <= best.k ? left : right).push(i);
      tree.left[node] = grow(left, depth + 1);
      tree.right[node] = grow(right, depth + 1);
      return node;
    };
    grow([...Array(n).keys()], 0);
    trees.push(tree);
  }
  return { base, trees, rows: n, groups: groups.length };
}

function modelFile(base, trees, operatingPoint, rates, hours, training = {}) {
  return { format: 'harbinger-gbdt-2', features: FEATURES, featureDefaults: { power_on_hours: hours }, modelFailureRates: rates, base, trees, operatingPoint, training };
}

/** Platt scaling on drive-days: fits a, b so that sigmoid(a·z + b) is the 30-day failure probability. */
function calibrate(model, drives) {
  const pts = [];
  for (const d of drives) for (const e of episodes(d)) if (e.days > 0 && (d.failureMs === undefined || e.stop <= d.failureMs)) pts.push({ z: model.logOdds(e.x), pos: e.positiveDays, neg: e.days - e.positiveDays });
  let a = 1;
  let b = 0;
  for (let it = 0; it < 50; it++) {
    // Newton steps on the weighted log-likelihood.
    let ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
    for (const p of pts) {
      const q = 1 / (1 + Math.exp(-(a * p.z + b)));
      const w = p.pos + p.neg;
      const r = q * w - p.pos;
      const s = w * q * (1 - q);
      ga += r * p.z, gb += r, haa += s * p.z * p.z, hab += s * p.z, hbb += s;
    }
    const det = haa * hbb - hab * hab;
    a -= (hbb * ga - hab * gb) / det;
    b -= (haa * gb - hab * ga) / det;
  }
  return { a, b };
}

/** Applies calibration to the ensemble: scale every leaf and the base by a, add b to the base. */
function calibrated({ base, trees }, { a, b }) {
  return { base: round(a * base + b), trees: trees.map((t) => ({ ...t, value: t.value.map((v) => round(a * v)) })) };
}

/** Trees, calibration and rates from `drives` (of both files); the trees see out-of-fold rates. */
function fit(drives) {
  const half = (d) => (fnv1a32(`rate:${d.serial}`) >>> 16) & 1;
  const tables = [modelRates(drives.filter((d) => half(d) === 1)), modelRates(drives.filter((d) => half(d) === 0))];
  setRates(drives, (d) => tables[half(d)]);
  const raw = trainTrees(drives);
  const rates = modelRates(drives);
  setRates(drives, () => rates);
  const hours = medianHours(drives);
  const provisional = loadModel(modelFile(raw.base, raw.trees, { watch: 0.01, degraded: 0.02, failing: 0.5 }, rates, hours));
  const cal = calibrate(provisional, drives);
  return { ...calibrated(raw, cal), rows: raw.rows, groups: raw.groups, calibration: cal, rates, hours };
}

/** Drive-level max probability per drive (failed: within the horizon window), via predictProbability(). */
async function driveScores(file, model, keep = () => true) {
  const drives = new Map();
  const visitor = {
    newDrive: (serial, m) => ({ serial, model: m, timeline: new DriveTimeline(), lastMs: -Infinity, starts: [], scores: [] }),
    point(drive, history) {
      if (!keep(drive.serial)) return;
      const p = predictProbability(history, model);
      if (drive.scores[drive.scores.length - 1] === p) return;
      drive.starts.push(history[history.length - 1].atMs);
      drive.scores.push(p);
    },
  };
  await replayFiles([file], 'train', visitor, drives);
  return [...drives.values()].filter((d) => keep(d.serial)).map((d) => {
    if (d.failureMs === undefined) return { failed: false, max: Math.max(...d.scores) };
    const w = d.failureMs - HORIZON_DAYS * DAY_MS;
    return { failed: true, max: Math.max(-1, ...d.scores.filter((_, i) => (d.starts[i + 1] ?? d.failureMs) > w)) };
  });
}

const brief = ({ tpr, fpr }) => `${(tpr * 100).toFixed(1)}% @ ${(fpr * 100).toFixed(2)}%`;

function thresholdFor(scores, fpr) {
  const healthy = scores.filter((s) => !s.failed).map((s) => s.max).sort((x, y) => y - x);
  const k = Math.floor(fpr * healthy.length);
  return round(Math.min(0.99, (healthy[k] ?? 0) + 1e-6)); // alarms need p ≥ cut: just above the (k+1)th
}

const rate = (scores, cut) => {
  const f = scores.filter((s) => s.failed);
  const h = scores.filter((s) => !s.failed);
  return { tpr: +(f.filter((s) => s.max >= cut).length / f.length).toFixed(4), fpr: +(h.filter((s) => s.max >= cut).length / h.length).toFixed(4), failed: f.length, healthy: h.length };
};

const started = Date.now();
const collected = [];
for (const file of FILES) collected.push(await collect(file));
const hoursAll = medianHours(collected.flat());
for (const d of collected.flat()) for (const x of d.vectors) if (!Number.isFinite(x[HOURS_INDEX])) x[HOURS_INDEX] = hoursAll;

if (values.cv) {
  // By drive (the serial), or by drive model: each half of the models is then scored by trees,
  // rates and a cut fitted on the other half, as a fleet of models Backblaze did not run would be.
  const modelOf = new Map(collected.flat().map((d) => [d.serial, d.model]));
  const fold = values['cv-by'] === 'model' ? (serial) => (fnv1a32(`cv:${modelKey(modelOf.get(serial))}`) >>> 8) & 1 : (serial) => (fnv1a32(`cv:${serial}`) >>> 8) & 1;
  // The interval file's held-out halves, summed up at the end: the figures to compare a change by.
  const summary = { at25: [], harbinger: [], scrutiny: [] };
  for (const k of [0, 1]) {
    const m = fit(collected.flat().filter((d) => fold(d.serial) === k));
    const provisional = loadModel(modelFile(m.base, m.trees, { watch: 1e-6, degraded: 0.999998, failing: 0.999999 }, m.rates, m.hours));
    const trainScores = await driveScores(FILES[0], provisional, (s) => fold(s) === k);
    const cut = thresholdFor(trainScores, TARGET_FPR);
    const model = loadModel(modelFile(m.base, m.trees, { watch: cut / 2, degraded: cut, failing: Math.max(0.5, cut) }, m.rates, m.hours));
    for (const file of FILES) {
      const tr = await driveScores(file, model, (s) => fold(s) === k);
      const te = await driveScores(file, model, (s) => fold(s) !== k);
      const at25 = rate(te, thresholdFor(te, 0.025));
      console.log(`fold ${k} ${file.split('/').pop()} cut ${cut}: fit ${JSON.stringify(rate(tr, cut))} held ${JSON.stringify(rate(te, cut))} held@2.5% ${JSON.stringify(at25)}`);
      // The baselines on the same held-out drives, and the model held to each one's FPR, as
      // `harbinger evaluate` reports them.
      const held = await evaluateFiles([file], { json: true, progress: false, split: 'train', model, drives: (s) => fold(s) !== k });
      const against = BASELINE_NAMES.map((name) => `${name} ${brief(held.baselines[name])} vs ${brief(held.at_baseline_fpr[name])}`);
      console.log(`  held: harbinger ${brief(held.predictor)} at the cut; ${against.join('; ')}`);
      if (file === FILES[0]) {
        summary.at25.push(at25.tpr);
        summary.harbinger.push(held.at_baseline_fpr.scrutiny.tpr);
        summary.scrutiny.push(held.baselines.scrutiny.tpr);
      }
    }
  }
  const pct = (list) => list.map((v) => `${(v * 100).toFixed(2)}%`).join(' / ');
  const mean = (list) => `${((list.reduce((a, b) => a + b, 0) / list.length) * 100).toFixed(2)}%`;
  console.log(`summary, interval file, held-out halves: TPR at 2.5% FPR ${pct(summary.at25)} (mean ${mean(summary.at25)}); at Scrutiny's FPR harbinger ${pct(summary.harbinger)} (mean ${mean(summary.harbinger)}) vs Scrutiny ${pct(summary.scrutiny)} (mean ${mean(summary.scrutiny)})`);
} else {
  const m = fit(collected.flat());
  // Operating points from the full predictor (rules included) on the training drives.
  const provisional = loadModel(modelFile(m.base, m.trees, { watch: 1e-6, degraded: 0.999998, failing: 0.999999 }, m.rates, m.hours));
  const scores = await driveScores(FILES[0], provisional);
  const degraded = thresholdFor(scores, TARGET_FPR);
  const watch = Math.min(degraded, thresholdFor(scores, WATCH_FPR));
  const operatingPoint = { watch, degraded, failing: Math.max(0.5, degraded) };
  const training = {
    command: [
      'npx tsc -p . && node scripts/train-model.mjs',
      ...(values.intervals && values.daily ? [] : [dataDir]),
      ...(values.intervals ? ['--intervals', values.intervals] : []),
      ...(values.daily ? ['--daily', values.daily] : []),
      ...Object.entries(SETTINGS).flatMap(([flag, { value }]) => (setting[flag] === value ? [] : [`--${flag}`, String(setting[flag])])),
    ].join(' '),
    data: 'Backblaze Hard Drive Data and Stats (see test/fixtures/backblaze/SOURCES.md)',
    files: FILES.map((f) => f.split('/').pop()),
    split: 'train (FNV-1a of the serial, buckets 30-99 of 100; src/predict/evaluate/split.ts)',
    drives: collected.map((ds) => ds.length),
    failed: collected.map((ds) => ds.filter((d) => d.failureMs !== undefined).length),
    rows: m.rows,
    groups: m.groups,
    loss: `drive-level (multiple-instance) logistic: a drive's score is the soft maximum (temperature ${MIL.temperature}) of its scores over its life, or over the ${HORIZON_DAYS} days before a failure; failed drives weigh ${MIL.failedWeight}`,
    gradientBoosting: GB,
    candidates: { counts: COUNTS, ...CANDIDATES },
    modelFailureRates: `share of each model's training drives that failed, smoothed with ${MODEL_RATE_SMOOTHING} drives at the overall share; models with fewer than ${MODEL_RATE_MIN_DRIVES} drives use the overall share; the trees were fitted on out-of-fold rates`,
    calibration: { a: +m.calibration.a.toFixed(6), b: +m.calibration.b.toFixed(6), note: 'Platt scaling on drive-days; already applied to base and leaves' },
    operatingPoints: `degraded: drive-level FPR ${TARGET_FPR} on the training drives of the interval file; watch: ${WATCH_FPR}`,
    trainFigures: rate(scores, degraded),
  };
  await writeFile(values.out, `${JSON.stringify(modelFile(m.base, m.trees, operatingPoint, m.rates, m.hours, training), null, 1)}\n`);
  console.log(`wrote ${values.out}: ${m.trees.length} trees, operating points ${JSON.stringify(operatingPoint)}, train ${JSON.stringify(training.trainFigures)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
