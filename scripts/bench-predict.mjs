#!/usr/bin/env node
// The cost of one prediction, as the agent pays it after every SMART reading of every disk and as
// `harbinger evaluate` pays it for every row it replays: predict() (decision and evidence) and
// predictProbability() (the decision alone), over a 45-day daily history of a drive whose four
// counters all move (the most evidence to weigh: a walk of the trees per signal).
//
//   npm run build && node scripts/bench-predict.mjs [--predictions 100000]
import { parseArgs } from 'node:util';
import { predict, predictProbability } from '../dist/src/predict/predictor.js';

const { values } = parseArgs({ options: { predictions: { type: 'string', default: '100000' } } });
const n = Number(values.predictions);
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const history = Array.from({ length: 45 }, (_, day) => ({
  atMs: T0 + day * DAY,
  protocol: 'ata',
  model: 'ST4000DM000',
  powerOnHours: 20_000 + 24 * day,
  reallocatedSectors: day,
  pendingSectors: day % 3,
  reportedUncorrectable: 1,
  commandTimeouts: 2,
}));
const now = history[history.length - 1].atMs;

function time(name, fn) {
  for (let i = 0; i < Math.min(n, 5000); i++) fn(); // warm up
  const started = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += fn();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!Number.isFinite(sink)) throw new Error(`${name}: not a probability`);
  console.log(`${name.padEnd(22)} ${((seconds / n) * 1e6).toFixed(1).padStart(6)} µs a prediction, ${Math.round(n / seconds).toLocaleString('en-US')} a second`);
}

const { level, probability, evidence } = predict(history, now);
console.log(`${n.toLocaleString('en-US')} predictions over a ${history.length}-day history (${level}, p = ${probability.toFixed(3)}, ${evidence.length} pieces of evidence), Node.js ${process.version}`);
time('predict()', () => predict(history, now).probability);
time('predictProbability()', () => predictProbability(history));
