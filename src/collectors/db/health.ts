import type { DbReading } from './collector.js';

/** A target in /health: whether it answers, how fast the last probe was, and why it last failed. */
export interface DatabaseHealth {
  target: string;
  driver: string;
  up: boolean | null;
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
    latency_seconds: t.lastLatencySeconds ?? null,
    last_probe: t.lastProbeMs === undefined ? null : new Date(t.lastProbeMs).toISOString(),
    last_error: t.lastError ? { reason: t.lastError.reason, message: t.lastError.message, at: new Date(t.lastError.atMs).toISOString() } : null,
    errors: { ...t.errorsTotal },
  }));
}
