/** The state key of the latest disk predictions (computed by the daemon, not a collector). */
export const PREDICTIONS = 'predictions';

/** What one collector's loop last did; /metrics and /health both read it. */
export interface CollectorStatus {
  enabled: boolean;
  /** Outcome of the last attempt; undefined before the first one ends. */
  success?: boolean;
  lastAttemptMs?: number;
  lastSuccessMs?: number;
  lastDurationSeconds?: number;
  lastError?: string;
  consecutiveFailures: number;
  failuresTotal: { error: number; timeout: number };
}

/**
 * The agent's in-memory state: each collector's latest successful reading and its status.
 * Collectors write it from their loops; a scrape only reads it.
 */
export class State {
  private readonly readings = new Map<string, { value: unknown; atMs: number }>();
  private readonly statuses = new Map<string, CollectorStatus>();

  setReading(collector: string, value: unknown, atMs: number): void {
    this.readings.set(collector, { value, atMs });
  }

  clearReading(name: string): void {
    this.readings.delete(name);
  }

  reading<R>(collector: string): R | undefined {
    return this.readings.get(collector)?.value as R | undefined;
  }

  status(collector: string): CollectorStatus {
    let status = this.statuses.get(collector);
    if (!status) {
      status = { enabled: false, consecutiveFailures: 0, failuresTotal: { error: 0, timeout: 0 } };
      this.statuses.set(collector, status);
    }
    return status;
  }

  /** A collector turned off by a reload: its last reading must not linger as if fresh. */
  disable(collector: string): void {
    this.readings.delete(collector);
    const status = this.status(collector);
    status.enabled = false;
    delete status.success;
  }

  collectors(): string[] {
    return [...this.statuses.keys()];
  }
}
