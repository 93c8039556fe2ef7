import type { DbReading } from './collector.js';
import type { Fault } from './errors.js';

/** A target in /health: whether it answers, how fast the last probe was, and why it last failed. */
export interface DatabaseHealth {
  target: string;
  driver: string;
  up: boolean | null;
  /** What the last failure means: the database does not answer, or harbinger cannot watch it. */
  fault: Fault | null;
  /** Probes in a row that found it not answering: `balance.down_after` of them take the host down. */
  unanswered_probes: number;
  /** `down`: counts for the load balancer; `ignore`: never does. */
  balance: 'down' | 'ignore';
  /** Where its data lives (resolved), or why that is not known. */
  data_paths: string[] | null;
  data_paths_problem: string | null;
  latency_seconds: number | null;
  last_probe: string | null;
  last_error: { reason: string; message: string; at: string } | null;
  errors: Record<string, number>;
}

export function databasesHealth(reading: DbReading | undefined): DatabaseHealth[] {
  return (reading?.targets ?? []).map((t) => ({
    target: t.name,
    driver: t.driver,
    up: t.up ?? null,
    fault: t.up === false && t.lastError ? t.lastError.fault : null,
    unanswered_probes: t.unansweredProbes,
    balance: t.balance,
    data_paths: t.dataPaths && 'paths' in t.dataPaths ? t.dataPaths.paths : null,
    data_paths_problem: t.dataPaths && 'problem' in t.dataPaths ? t.dataPaths.problem : null,
    latency_seconds: t.lastLatencySeconds ?? null,
    last_probe: t.lastProbeMs === undefined ? null : new Date(t.lastProbeMs).toISOString(),
    last_error: t.lastError ? { reason: t.lastError.reason, message: t.lastError.message, at: new Date(t.lastError.atMs).toISOString() } : null,
    errors: { ...t.errorsTotal },
  }));
}
