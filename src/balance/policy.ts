import { RISK_LEVELS, type RiskLevel } from '../predict/types.js';
import type { BalanceState, DrainVerdict } from '../protocol/balance-report.js';
import type { DiskRole } from './disk-roles.js';
import type { BalanceSettings } from './settings.js';

export type { BalanceState };

/** What the load balancer should do with this host, and why. */
export interface BalanceDecision {
  state: BalanceState;
  /** Percent of the configured weight, 0-100 (0 unless up). */
  weight: number;
  /** One sentence per cause, worst first; empty when all is well. */
  reasons: string[];
  /**
   * Set when the state is `drain` because of data disks: which disks, whether any is the drive's
   * own verdict, and the decision the host would have without them (what it publishes while the
   * collector has not granted the drain).
   */
  diskDrain?: { disks: string[]; verdict: DrainVerdict; level: 'degraded' | 'failing'; undrained: BalanceDecision };
}

export interface BalanceInputs {
  /** Each disk's level and what it carries (disk-roles.ts). */
  disks?: ReadonlyArray<{ disk: string; device: string; level: RiskLevel; role: DiskRole; roleReason?: string; verdict?: DrainVerdict }>;
  /** Host PSI `some`, 60 s averages, percent of time; absent when the kernel has no PSI. */
  pressure?: { cpu?: number; memory?: number; io?: number };
  /**
   * Databases that count for the balance (`balance: down`). `down`: it has not answered for
   * `down_after` probes in a row; a monitoring fault is never `down`.
   */
  databases?: ReadonlyArray<{ target: string; down?: boolean; reason?: string; latencySeconds?: number }>;
}

const rank = (level: RiskLevel) => RISK_LEVELS.indexOf(level);
const pct = (value: number) => `${Math.round(value)}%`;

/** Whether a disk at the drain level takes the host out: only when it holds the databases' data. */
function drains(disk: NonNullable<BalanceInputs['disks']>[number], settings: BalanceSettings): boolean {
  if (settings.drainLevel === 'never' || rank(disk.level) < rank(settings.drainLevel)) return false;
  return disk.role === 'data' || (disk.role === 'unknown' && settings.unknownDiskRole === 'drain');
}

function drainReason(disk: NonNullable<BalanceInputs['disks']>[number]): string {
  const carries = disk.role === 'data' ? 'holds database data' : 'what it holds is unknown';
  return `disk ${disk.disk} (${disk.device}) is ${disk.level} and ${carries}${disk.roleReason ? ` (${disk.roleReason})` : ''}: replace it`;
}

/**
 * The host's state as a weight. A database that does not answer takes the host out (`down`); a
 * disk at the drain level that holds the databases' data drains it (no new connections, the
 * existing ones finish); pressure or latency above a limit scales the weight by limit/value, the
 * worst one deciding, never below `min_weight`.
 */
export function decide(inputs: BalanceInputs, settings: BalanceSettings): BalanceDecision {
  const reasons: string[] = [];
  const down = (inputs.databases ?? []).filter((d) => d.down === true);
  for (const d of down) reasons.push(`database ${d.target} does not answer${d.reason ? ` (${d.reason})` : ''}`);
  const draining = (inputs.disks ?? []).filter((d) => drains(d, settings));
  for (const d of draining) reasons.push(drainReason(d));
  const undrained = weighted(inputs, settings);
  const verdict = draining.some((d) => d.verdict === 'drive') ? 'drive' : 'prediction';
  const level = draining.some((d) => d.level === 'failing') ? 'failing' : 'degraded';
  const diskDrain = { disks: draining.map((d) => d.disk), verdict, level, undrained } as const;
  // Down wins, but the disks still say drain: the host keeps asking (and a grant it holds) meanwhile.
  if (down.length > 0) return { state: 'down', weight: 0, reasons, ...(draining.length > 0 ? { diskDrain } : {}) };
  if (draining.length > 0) return { state: 'drain', weight: 0, reasons, diskDrain };
  return undrained;
}

/** The weight from pressure and latency alone. */
function weighted(inputs: BalanceInputs, settings: BalanceSettings): BalanceDecision {
  const factors: Array<{ factor: number; reason: string }> = [];
  const { limits } = settings;
  const over = (what: string, value: number | undefined, limit: number, show: (v: number) => string) => {
    if (value === undefined || value <= limit) return;
    factors.push({ factor: limit / value, reason: `${what} ${show(value)} is above ${show(limit)}` });
  };
  over('CPU pressure', inputs.pressure?.cpu, limits.cpuPressure, pct);
  over('memory pressure', inputs.pressure?.memory, limits.memoryPressure, pct);
  over('IO pressure', inputs.pressure?.io, limits.ioPressure, pct);
  for (const d of inputs.databases ?? []) {
    over(`database ${d.target} latency`, d.latencySeconds, limits.dbLatencySeconds, (v) => `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)} ms`);
  }
  factors.sort((a, b) => a.factor - b.factor);
  const worst = factors[0]?.factor ?? 1;
  const weight = Math.max(settings.minWeight, Math.min(100, Math.floor(worst * 100)));
  return { state: 'up', weight, reasons: factors.map((f) => f.reason) };
}

/** Worse is larger: down, then drain, then up by decreasing weight. */
export function severity(decision: BalanceDecision): number {
  if (decision.state === 'down') return 300;
  if (decision.state === 'drain') return 200;
  return 100 - decision.weight;
}

/** The line HAProxy's agent-check reads: state words, a weight, and a `#` description. */
export function agentCheckLine(decision: BalanceDecision): string {
  const words = decision.state === 'up' ? `up ready ${decision.weight}%` : decision.state;
  const why = decision.reasons[0]?.replace(/[\r\n#]/g, ' ');
  return `${words}${why ? ` #${why}` : ''}\n`;
}
