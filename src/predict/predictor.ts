/**
 * The per-disk predictor: a disk's readings over time → a risk level, the probability that it fails
 * within HORIZON_DAYS, a replace-by date and the evidence. Pure and cheap: the agent runs it after
 * every SMART reading of every disk, and `harbinger evaluate` runs this same function over every
 * row of Backblaze's data, so the figures it reports are the agent's.
 *
 * probability: for ATA, the model's (model.ts); a rule's level raises it to at least that level's
 * cut. NVMe and SCSI have no public failure data here: their probability is the rules' floor
 * (0 without a finding), a level more than a calibrated number.
 * level: `failing` from the cut operatingPoint.failing up (the drive's own verdict, NVMe critical
 * warnings 0/2/3, spare below threshold, worn out, or a very high model probability); `degraded`
 * from operatingPoint.degraded (the alarm, the default operating point); `watch` from
 * operatingPoint.watch or a watch finding (old static reallocations, cabling errors); else `ok`.
 * replaceBy: the date to replace the disk by were its alarm to start with this reading
 * (replace-by.ts: the next day when failing, within 2 to 10 days when degraded); absent for ok and
 * watch. The agent keeps the first date of an alarm and only moves it nearer (service.ts).
 */
import { extractFeatures, DAY_MS, type Features, type Signal } from './features.js';
import { contributions, MODEL, sigmoid, type Model } from './model.js';
import { isoDay, replaceWithinDays } from './replace-by.js';
import { applyRules, type Finding } from './rules.js';
import type { DiskSample, Evidence, Prediction, RiskLevel } from './types.js';

export const HORIZON_DAYS = 30;
export { HISTORY_DAYS } from './features.js';

const RANK: Record<RiskLevel, number> = { ok: 0, watch: 1, degraded: 2, failing: 3 };

/**
 * The model's view as evidence: each signal's contribution (log-odds) goes on the rule's evidence
 * for that signal, or becomes evidence of its own where no rule spoke. The drive model's failure
 * rate is evidence when the disk is not `ok` (for an `ok` disk it only says what its model is).
 */
function addModelEvidence(model: Model, features: Features, x: readonly number[], evidence: Evidence[], level: RiskLevel): void {
  for (const [group, weight] of contributions(model, x)) {
    const rounded = Math.round(weight * 1000) / 1000;
    if (group === 'model_failure_rate') {
      if (level === 'ok' || rounded === 0) continue;
      const rate = model.failureRateOf(features.current.model);
      evidence.push({
        signal: group,
        value: rate,
        weight: rounded,
        note: `${features.current.model ?? 'this model'}: ${(rate * 100).toFixed(1)}% of these drives failed in Backblaze's data (training drives, 2013-2016); this ${rounded >= 0 ? 'raises' : 'lowers'} the predicted failure probability.`,
      });
      continue;
    }
    const signal = group as Signal;
    const fromRule = evidence.find((e) => e.signal === signal || e.signal.startsWith(`${signal}_`));
    if (fromRule) {
      fromRule.weight = rounded;
      continue;
    }
    const counter = features.counters[signal];
    const item: Evidence = {
      signal,
      value: counter?.value ?? 0,
      weight: rounded,
      note: `${signal.replace(/_/g, ' ')}: ${rounded >= 0 ? 'raises' : 'lowers'} the model's failure probability.`,
    };
    if (counter?.change7d !== undefined) item.change7d = counter.change7d;
    if (counter?.change30d !== undefined) item.change30d = counter.change30d;
    evidence.push(item);
  }
}

interface Assessment {
  features: Features;
  findings: Finding[];
  /** The model's feature vector (ATA only). */
  x?: number[];
  probability: number;
  level: RiskLevel;
}

/** The decision, before it is explained: probability and level from the model and the rules. */
function assess(history: readonly DiskSample[], model: Model): Assessment {
  const features = extractFeatures(history);
  const findings = applyRules(features);
  const cuts = model.operatingPoint;
  let probability = 0;
  let x: number[] | undefined;
  if (features.current.protocol === 'ata') {
    x = model.vector(features);
    probability = sigmoid(model.logOdds(x));
  }
  let floorLevel: RiskLevel = 'ok';
  for (const finding of findings) if (RANK[finding.level] > RANK[floorLevel]) floorLevel = finding.level;
  if (floorLevel === 'failing') probability = Math.max(probability, cuts.failing);
  if (floorLevel === 'degraded') probability = Math.max(probability, cuts.degraded);
  let level: RiskLevel = probability >= cuts.failing ? 'failing' : probability >= cuts.degraded ? 'degraded' : 'ok';
  if (level === 'ok' && (probability >= cuts.watch || floorLevel === 'watch')) level = 'watch';
  return x === undefined ? { features, findings, probability, level } : { features, findings, x, probability, level };
}

/**
 * predict()'s probability alone, without the evidence (which costs the model once more per signal):
 * for `harbinger evaluate` and the trainer, which replay millions of readings and read only this.
 */
export function predictProbability(history: readonly DiskSample[], model: Model = MODEL): number {
  return history.length === 0 ? 0 : assess(history, model).probability;
}

/**
 * Predict from `history` (oldest → newest; the last is the current reading). `nowMs` dates the
 * replace-by; the growth windows are relative to the current reading's own time.
 */
export function predict(history: readonly DiskSample[], nowMs: number, model: Model = MODEL): Prediction {
  if (history.length === 0) return { level: 'ok', probability: 0, horizonDays: HORIZON_DAYS, evidence: [] };
  const { features, findings, x, probability, level } = assess(history, model);
  const evidence = findings.map((f) => ({ ...f.evidence }));
  if (x !== undefined) addModelEvidence(model, features, x, evidence, level);
  // Strongest first: the alarms' own findings (failing, degraded), then by the model's weight,
  // then the watch findings.
  const strength = (e: Evidence): number => {
    const rank = RANK[findings.find((f) => f.evidence.signal === e.signal)?.level ?? 'ok'];
    return (rank >= RANK.degraded ? rank * 1000 : 0) + Math.abs(e.weight ?? 0) * 10 + rank;
  };
  evidence.sort((a, b) => strength(b) - strength(a));
  const prediction: Prediction = { level, probability, horizonDays: HORIZON_DAYS, evidence };
  const days = replaceWithinDays(level, probability, model.operatingPoint);
  if (days !== undefined) prediction.replaceBy = isoDay(nowMs + days * DAY_MS);
  return prediction;
}
