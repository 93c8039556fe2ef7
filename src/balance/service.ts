import type { DbReading } from '../collectors/db/index.js';
import type { PressureReading } from '../collectors/pressure/index.js';
import type { PredictionsReading } from '../predict/service.js';
import { PREDICTIONS, type State } from '../state.js';
import type { DiskRoleInfo } from './disk-roles.js';
import type { DrainCoordination } from './drain-request.js';
import { drainVerdict } from './drive-verdict.js';
import { psiAverages } from './report.js';
import type { Override } from './override.js';
import { withOverride } from './override-decision.js';
import { decide, severity, type BalanceDecision, type BalanceInputs } from './policy.js';
import type { BalanceSettings } from './settings.js';

/** Probes whose latency is looked at per database: one slow probe does not cut the weight. */
const LATENCY_WINDOW = 3;

export interface BalanceStatus extends BalanceDecision {
  /** When the published decision last changed (Unix ms). */
  sinceMs: number;
  /** The latest readings' own decision, before hysteresis and the operator's override. */
  current: BalanceDecision;
  /** The operator's hold or drain in force, if any. */
  override?: Override;
  /** Who made the published decision: harbinger's readings, or the operator's override. */
  decidedBy: 'harbinger' | 'operator';
  /** Why the override file is ignored (damaged, foreign-owned), while it is. */
  overrideProblem?: string;
}

/**
 * Turns the latest readings into the published decision. Worse decisions are published at once;
 * a better one only once every decision of the last `settle` has been at least that good (the
 * published one is the worst of the window), so a host at a limit does not flap in the pool. An
 * operator's override applies on top, at once in both directions.
 */
export class BalanceService {
  private window: Array<{ atMs: number; decision: BalanceDecision }> = [];
  private published: BalanceStatus;
  private override: Override | undefined;
  private overrideProblem: string | undefined;
  private readonly latencies = new Map<string, { probeMs: number; values: number[] }>();

  constructor(
    private settings: BalanceSettings,
    private readonly now: () => number = Date.now,
    /** The collector's grants for drains (cluster-aware balancing); absent: the host decides alone. */
    private readonly coordination?: DrainCoordination,
  ) {
    const initial: BalanceDecision = { state: 'up', weight: 100, reasons: [] };
    this.published = { ...initial, sinceMs: now(), current: initial, decidedBy: 'harbinger' };
  }

  /** A reload may change limits and settle time; the history of decisions is kept. */
  configure(settings: BalanceSettings): void {
    this.settings = settings;
  }

  status(): BalanceStatus {
    return this.published;
  }

  /** The operator's override (undefined: none, or an invalid file and why); it applies at the next update(). */
  setOverride(override: Override | undefined, problem?: string): void {
    this.override = override;
    this.overrideProblem = problem;
  }

  /** Re-decides from the state's latest readings; returns whether the published decision changed. */
  update(state: State, roles: ReadonlyMap<string, DiskRoleInfo>): boolean {
    const nowMs = this.now();
    const decision = decide(this.inputs(state, roles), this.settings);
    const coordinated = this.coordination ? this.coordination.apply(decision, this.override) : decision;
    this.window.push({ atMs: nowMs, decision: coordinated });
    this.window = this.window.filter((entry, i) => i === this.window.length - 1 || nowMs - entry.atMs < this.settings.settleMs);
    // The newest of the equally worst: its reasons are the current ones.
    const worst = this.window.reduce((a, b) => (severity(b.decision) >= severity(a.decision) ? b : a)).decision;
    const final = withOverride(worst, this.override);
    const previous = this.published;
    const changed = final.state !== previous.state || final.weight !== previous.weight || previous.override !== this.override;
    this.published = {
      ...final,
      sinceMs: changed ? nowMs : previous.sinceMs,
      current: decision,
      ...(this.override ? { override: this.override } : {}),
      ...(this.overrideProblem ? { overrideProblem: this.overrideProblem } : {}),
      decidedBy: this.override && worst.state !== 'down' ? 'operator' : 'harbinger',
    };
    return changed;
  }

  private inputs(state: State, roles: ReadonlyMap<string, DiskRoleInfo>): BalanceInputs {
    const inputs: BalanceInputs = {};
    const predictions = state.reading<PredictionsReading>(PREDICTIONS);
    if (predictions) {
      inputs.disks = predictions.disks.map((d) => {
        const role = roles.get(d.disk);
        return { disk: d.disk, device: d.device, level: d.level, role: role?.role ?? 'unknown', verdict: drainVerdict(d.evidence ?? []), ...(role ? { roleReason: role.reason } : {}) };
      });
    }
    const pressure = psiAverages(state.reading<PressureReading>('pressure'));
    if (pressure) inputs.pressure = pressure;
    const db = state.reading<DbReading>('db');
    if (db) {
      // A target set to `ignore` never affects the balance: not its outages, not its latency.
      inputs.databases = db.targets
        .filter((t) => t.balance !== 'ignore')
        .map((t) => {
          const latencySeconds = this.medianLatency(t.name, t.lastProbeMs, t.up === true ? t.lastLatencySeconds : undefined);
          const down = t.unansweredProbes >= this.settings.downAfter;
          return {
            target: t.name,
            down,
            ...(down && t.lastError ? { reason: `${t.unansweredProbes} probes in a row: ${t.lastError.reason}, ${t.lastError.message}` } : {}),
            ...(latencySeconds !== undefined && t.up === true ? { latencySeconds } : {}),
          };
        });
    }
    return inputs;
  }

  /** The median of a database's last few answered probes (each probe counted once). */
  private medianLatency(target: string, probeMs: number | undefined, latency: number | undefined): number | undefined {
    let entry = this.latencies.get(target);
    if (!entry) {
      entry = { probeMs: -1, values: [] };
      this.latencies.set(target, entry);
    }
    if (probeMs !== undefined && probeMs !== entry.probeMs && latency !== undefined) {
      entry.probeMs = probeMs;
      entry.values = [...entry.values, latency].slice(-LATENCY_WINDOW);
    }
    if (entry.values.length === 0) return undefined;
    const sorted = [...entry.values].sort((a, b) => a - b);
    // The lower middle: with two probes, one slow one is not yet a trend.
    return sorted[Math.floor((sorted.length - 1) / 2)];
  }
}
