/**
 * The learned part of the predictor: a small gradient-boosted tree ensemble over a few ATA counter
 * features (current values, 7/30-day growth, 30-day peak), exported as JSON by
 * scripts/train-model.mjs from Backblaze's public data (training split only) and evaluated here
 * with plain arithmetic: no ML runtime. Its output is the log-odds that the disk fails within the
 * horizon (30 days); the operating points (where `watch`, `degraded` and `failing` start) are
 * chosen by the same script on the training drives and stored with the trees.
 *
 * Trees are stored flat: node i is a leaf when feature[i] < 0 (value[i] is added to the log-odds);
 * otherwise the walk goes to left[i] when x[feature[i]] < threshold[i], else to right[i].
 */
import { compileFeature, type Features, type Signal } from './features.js';
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

export interface ModelFile {
  format: 'harbinger-gbdt-1';
  features: string[];
  base: number;
  trees: TreeArrays[];
  operatingPoint: OperatingPoint;
  training: Record<string, unknown>;
}

export interface Model {
  readonly features: readonly string[];
  readonly operatingPoint: OperatingPoint;
  /** The signal (counter) each feature is computed from, by feature index. */
  readonly signals: readonly Signal[];
  vector(features: Features): number[];
  logOdds(x: readonly number[]): number;
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
  if (file.format !== 'harbinger-gbdt-1') throw new Error(`model: unknown format ${JSON.stringify(file.format)}`);
  const accessors = file.features.map(compileFeature);
  const dims = accessors.length;
  file.trees.forEach((tree, i) => {
    if (!validTree(tree, dims)) throw new Error(`model: tree ${i} is malformed`);
  });
  const { watch, degraded, failing } = file.operatingPoint;
  if (!(0 < watch && watch <= degraded && degraded <= failing && failing < 1)) throw new Error('model: operating points must rise: 0 < watch ≤ degraded ≤ failing < 1');
  const signals = file.features.map((name) => name.replace(/_(growth_7d|growth_30d|peak_30d)$/, '') as Signal);
  const trees = file.trees;
  return {
    features: file.features,
    operatingPoint: file.operatingPoint,
    signals,
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
 * How much each signal moves the log-odds: the model with that signal's features set to 0 (as if
 * the counter had stayed clean) against the model as it is. Only signals with a non-zero feature.
 */
export function contributions(model: Model, x: readonly number[]): Map<Signal, number> {
  const full = model.logOdds(x);
  const out = new Map<Signal, number>();
  const seen = new Set<Signal>();
  model.signals.forEach((signal, i) => {
    if (x[i] === 0 || seen.has(signal)) return;
    seen.add(signal);
    const without = x.map((v, j) => (model.signals[j] === signal ? 0 : v));
    out.set(signal, full - model.logOdds(without));
  });
  return out;
}

/** The model shipped with harbinger (src/predict/model-weights.json). */
export const MODEL: Model = loadModel(weights as unknown as ModelFile);
