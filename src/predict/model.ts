/**
 * The learned part of the predictor: a small gradient-boosted tree ensemble over a few ATA inputs
 * (counter values, their 7/30-day growth, the 30-day peak of pending sectors, power-on hours and
 * the failure rate of the drive's model in Backblaze's data), exported as JSON by
 * scripts/train-model.mjs from Backblaze's public data (training split only) and evaluated here
 * with plain arithmetic: no ML runtime. Its output is the log-odds that the disk fails within the
 * horizon (30 days); the operating points (where `watch`, `degraded` and `failing` start) are
 * chosen by the same script on the training drives and stored with the trees.
 *
 * Trees are stored flat: node i is a leaf when feature[i] < 0 (value[i] is added to the log-odds);
 * otherwise the walk goes to left[i] when x[feature[i]] < threshold[i], else to right[i].
 *
 * `model_failure_rate` is looked up by the drive's model (features.ts modelKey) in the file's
 * table: the share of that model's training drives that failed, smoothed towards the share over
 * all drives, which is also what a model not in the table (any model Backblaze did not run in
 * 2013–2016, or a reading without a model name) gets.
 */
import { compileFeature, modelKey, signalOf, type FeatureDefaults, type Features } from './features.js';
import weights from './model-weights.json' with { type: 'json' };

export interface TreeArrays {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}

export interface OperatingPoint {
  /** Probability at which a disk is worth a look (not an alarm). */
  watch: number;
  /** The alarm: the default operating point `harbinger evaluate` scores. */
  degraded: number;
  /** Imminent failure. */
  failing: number;
}

/** Failure rates by drive model (modelKey), for the `model_failure_rate` feature. */
export interface ModelFailureRates {
  /** For a model not in the table. */
  unknown: number;
  rates: Record<string, number>;
}

export interface ModelFile {
  /** 1: counter features only; 2: also featureDefaults and modelFailureRates. */
  format: 'harbinger-gbdt-1' | 'harbinger-gbdt-2';
  features: string[];
  /** Values for features a reading does not carry (power_on_hours). */
  featureDefaults?: Record<string, number>;
  modelFailureRates?: ModelFailureRates;
  base: number;
  trees: TreeArrays[];
  operatingPoint: OperatingPoint;
  training: Record<string, unknown>;
}

/** What a feature is evidence about: a counter's name, `model_failure_rate`, or nothing (power-on hours). */
export type FeatureGroup = string | undefined;

export interface Model {
  readonly features: readonly string[];
  readonly operatingPoint: OperatingPoint;
  /** The evidence group of each feature, by feature index. */
  readonly groups: readonly FeatureGroup[];
  /** Each feature's neutral value (a clean counter: 0; an unknown model: the overall rate). */
  readonly neutral: readonly number[];
  vector(features: Features): number[];
  logOdds(x: readonly number[]): number;
  /** The `model_failure_rate` of a model name (the unknown rate when not in the table). */
  failureRateOf(model: string | undefined): number;
  /** Whether the table has the model's own rate (false: the unknown rate stands in). */
  hasFailureRate(model: string | undefined): boolean;
}

function validTree(tree: TreeArrays, dims: number): boolean {
  const n = tree.feature.length;
  if ([tree.threshold, tree.left, tree.right, tree.value].some((a) => a.length !== n) || n === 0) return false;
  return tree.feature.every((f, i) => {
    if (f < 0) return true;
    const l = tree.left[i]!;
    const r = tree.right[i]!;
    return Number.isInteger(f) && f < dims && l > i && r > i && l < n && r < n;
  });
}

export function loadModel(file: ModelFile): Model {
  if (file.format !== 'harbinger-gbdt-1' && file.format !== 'harbinger-gbdt-2') throw new Error(`model: unknown format ${JSON.stringify(file.format)}`);
  const defaults: FeatureDefaults = file.featureDefaults ?? {};
  const table = file.modelFailureRates;
  // By model name as read (a host has a few models; `evaluate` a hundred): the key is computed once.
  const byName = new Map<string, number>();
  const hasFailureRate = (model: string | undefined): boolean => {
    const key = modelKey(model);
    return table !== undefined && key !== undefined && Object.hasOwn(table.rates, key);
  };
  const failureRateOf = (model: string | undefined): number => {
    if (table === undefined) return 0;
    if (model === undefined) return table.unknown;
    let rate = byName.get(model);
    if (rate === undefined) {
      const key = modelKey(model);
      rate = (key !== undefined && Object.hasOwn(table.rates, key) ? table.rates[key] : undefined) ?? table.unknown;
      if (byName.size >= 4096) byName.clear();
      byName.set(model, rate);
    }
    return rate;
  };
  const accessors = file.features.map((name) => {
    if (name !== 'model_failure_rate') return compileFeature(name, defaults);
    if (table === undefined) throw new Error('model: model_failure_rate needs modelFailureRates');
    return (f: Features) => failureRateOf(f.current.model);
  });
  const dims = accessors.length;
  file.trees.forEach((tree, i) => {
    if (!validTree(tree, dims)) throw new Error(`model: tree ${i} is malformed`);
  });
  const { watch, degraded, failing } = file.operatingPoint;
  if (!(0 < watch && watch <= degraded && degraded <= failing && failing < 1)) throw new Error('model: operating points must rise: 0 < watch ≤ degraded ≤ failing < 1');
  const groups = file.features.map((name): FeatureGroup => (name === 'model_failure_rate' ? name : signalOf(name)));
  const neutral = file.features.map((name) => (name === 'model_failure_rate' ? (table?.unknown ?? 0) : 0));
  const trees = file.trees;
  return {
    features: file.features,
    operatingPoint: file.operatingPoint,
    groups,
    neutral,
    failureRateOf,
    hasFailureRate,
    vector: (features) => accessors.map((read) => read(features)),
    logOdds(x) {
      let sum = file.base;
      for (const tree of trees) {
        let node = 0;
        let feature = tree.feature[0]!;
        while (feature >= 0) {
          node = x[feature]! < tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
          feature = tree.feature[node]!;
        }
        sum += tree.value[node]!;
      }
      return sum;
    },
  };
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/**
 * `model` with its alarm (`degraded`) at `probability`: `watch` no higher, `failing` no lower, so
 * the levels still rise. The model's own cut gives the model itself.
 */
export function withAlarmProbability(model: Model, probability: number): Model {
  if (!(probability > 0 && probability < 1)) throw new Error(`alarm probability must be between 0 and 1, not ${probability}`);
  const own = model.operatingPoint;
  if (probability === own.degraded) return model;
  const operatingPoint: OperatingPoint = { watch: Math.min(own.watch, probability), degraded: probability, failing: Math.max(own.failing, probability) };
  return { ...model, operatingPoint };
}

/**
 * How much each evidence group moves the log-odds: the model with that group's features at their
 * neutral values (as if the counter had stayed clean, as if the model were unknown) against the
 * model as it is. Only groups whose features are not all neutral; power-on hours are not evidence.
 */
export function contributions(model: Model, x: readonly number[]): Map<string, number> {
  const full = model.logOdds(x);
  const out = new Map<string, number>();
  model.groups.forEach((group, i) => {
    if (group === undefined || x[i] === model.neutral[i] || out.has(group)) return;
    const without = x.map((v, j) => (model.groups[j] === group ? model.neutral[j]! : v));
    out.set(group, full - model.logOdds(without));
  });
  return out;
}

/** The model shipped with harbinger (src/predict/model-weights.json). */
export const MODEL: Model = loadModel(weights as unknown as ModelFile);
