import type { StatementCounters } from './driver.js';

/** What one statement did between two readings of the server's counters. */
export interface StatementDelta {
  digest: string;
  database: string;
  user: string;
  calls: number;
  seconds: number;
  callsPerSecond: number;
  meanSeconds: number;
}

export interface StatementsWindow {
  /** Seconds between the two readings the deltas come from. */
  windowSeconds: number;
  /** The statements with the most execution time in the window, most first. */
  top: StatementDelta[];
  /** All statements together, the top ones and the rest. */
  total: { calls: number; seconds: number; callsPerSecond: number; meanSeconds?: number };
}

const keyOf = (s: StatementCounters) => `${s.digest}\0${s.database}\0${s.user}`;

/**
 * Turns the server's cumulative per-statement counters into per-interval figures. A statement
 * whose counters went down was reset or evicted and came back: all it has now happened since.
 * Cardinality is bounded by `topK`; the previous reading is kept whole (one entry per statement
 * the server tracks, 5,000 by default in pg_stat_statements).
 */
export class StatementTracker {
  private previous: { atMs: number; rows: Map<string, StatementCounters> } | undefined;

  /** Undefined on the first reading, which has nothing to compare with. */
  update(rows: readonly StatementCounters[], atMs: number, topK: number): StatementsWindow | undefined {
    const current = new Map(rows.map((r) => [keyOf(r), r]));
    const previous = this.previous;
    this.previous = { atMs, rows: current };
    if (!previous || atMs <= previous.atMs) return undefined;
    const windowSeconds = (atMs - previous.atMs) / 1000;
    const deltas: StatementDelta[] = [];
    let calls = 0;
    let seconds = 0;
    for (const [key, now] of current) {
      const before = previous.rows.get(key);
      const reset = !before || now.calls < before.calls || now.seconds < before.seconds;
      const dCalls = reset ? now.calls : now.calls - before.calls;
      const dSeconds = reset ? now.seconds : now.seconds - before.seconds;
      if (dCalls <= 0) continue;
      calls += dCalls;
      seconds += dSeconds;
      if (now.digest === '') continue; // hidden from this user, or the overflow row: totals only
      deltas.push({
        digest: now.digest,
        database: now.database,
        user: now.user,
        calls: dCalls,
        seconds: dSeconds,
        callsPerSecond: dCalls / windowSeconds,
        meanSeconds: dSeconds / dCalls,
      });
    }
    deltas.sort((a, b) => b.seconds - a.seconds || b.calls - a.calls);
    return {
      windowSeconds,
      top: deltas.slice(0, topK),
      total: { calls, seconds, callsPerSecond: calls / windowSeconds, ...(calls > 0 ? { meanSeconds: seconds / calls } : {}) },
    };
  }
}
