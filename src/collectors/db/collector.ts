import type { Collector } from '../types.js';
import type { TargetMonitor, TargetReading } from './target.js';

export interface DbReading {
  targets: TargetReading[];
}

/**
 * Every target in one loop, probed at once. A round returns by its budget (a little under the
 * collector's timeout) with what each target has so far, so a slow or hung database is reported
 * as such without holding back the others' readings or failing the collector; its own round goes
 * on (each query has its timeout) and is joined by the next collection rather than doubled.
 */
export class DbCollector implements Collector<DbReading> {
  constructor(
    private readonly monitors: readonly TargetMonitor[],
    private readonly budgetMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async collect(signal: AbortSignal): Promise<DbReading> {
    const deadline = this.now() + this.budgetMs;
    const rounds = Promise.all(this.monitors.map((m) => m.round(deadline)));
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    await Promise.race([
      rounds,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.budgetMs);
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
    return { targets: this.monitors.map((m) => m.snapshot()) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.monitors.map((m) => m.stop()));
  }
}
