import type { Config } from './config/load.js';
import { startCollection, TimeoutError, type Collection } from './collection.js';
import type { Collector, CollectorDefinition } from './collectors/types.js';
import type { Logger } from './logger.js';
import type { State } from './state.js';

export interface SchedulerDeps {
  state: State;
  logger: Logger;
  now?: () => number;
  /** Called with every successful reading (the daemon feeds the predictor from here). */
  onReading?: (collector: string, reading: unknown) => void;
}

/** One loop per enabled collector: interval, timeout, status in the state, one log line per outage. */
export class Scheduler {
  private readonly loops: CollectorLoop[] = [];

  constructor(
    private readonly definitions: readonly CollectorDefinition[],
    private readonly config: Config,
    private readonly deps: SchedulerDeps,
  ) {}

  start(): void {
    for (const definition of this.definitions) {
      const settings = this.config.collector[definition.name]!;
      if (!settings.enabled || definition.idle?.(settings.options)) {
        this.deps.state.disable(definition.name);
        continue;
      }
      const logger = this.deps.logger.child({ collector: definition.name });
      const collector = definition.create({ settings, paths: this.config.path, logger });
      const loop = new CollectorLoop(definition, collector, settings.intervalMs, settings.timeoutMs, {
        ...this.deps,
        logger,
      });
      this.loops.push(loop);
      loop.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.splice(0).map((loop) => loop.stop()));
  }
}

class CollectorLoop {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private current: Collection<unknown> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly definition: CollectorDefinition,
    private readonly collector: Collector<unknown>,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly deps: SchedulerDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.deps.state.status(this.definition.name).enabled = true;
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.current?.abort(new Error('agent stopping'));
    // A collection that ignores its abort signal must not hold up shutdown.
    await Promise.race([this.inFlight, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    // Then what it holds between collections (database connections) is let go.
    try {
      await this.collector.stop?.();
    } catch (err) {
      this.deps.logger.error({ err }, 'error while stopping the collector');
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const started = this.now();
    if (this.inFlight) {
      // The last collection outlived its timeout and still has not returned: do not pile up.
      this.fail(started, new TimeoutError(`still running after ${this.timeoutMs} ms (previous collection hung)`));
    } else {
      void this.runOnce(started);
    }
    const status = this.deps.state.status(this.definition.name);
    if (this.definition.once && status.lastSuccessMs !== undefined) return;
    this.schedule(started);
  }

  private schedule(started: number): void {
    if (this.stopped) return;
    const delay = Math.max(0, started + this.intervalMs - this.now());
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private async runOnce(started: number): Promise<void> {
    const collection = startCollection(this.collector, this.timeoutMs);
    this.current = collection;
    // Tracks the collection itself, which may outlive its timeout if it ignores the abort.
    this.inFlight = collection.settled;
    void collection.settled.then(() => {
      if (this.inFlight === collection.settled) this.inFlight = undefined;
    });
    try {
      const reading = await collection.result;
      if (this.stopped) return;
      this.succeed(started, reading);
      if (this.definition.once) clearTimeout(this.timer);
    } catch (err) {
      if (!this.stopped) this.fail(started, err);
    }
  }

  private succeed(started: number, reading: unknown): void {
    const finished = this.now();
    const { state, logger } = this.deps;
    state.setReading(this.definition.name, reading, finished);
    try {
      this.deps.onReading?.(this.definition.name, reading);
    } catch (err) {
      logger.error({ err }, 'processing the reading failed');
    }
    const status = state.status(this.definition.name);
    if (status.consecutiveFailures > 0) {
      logger.info({ failedAttempts: status.consecutiveFailures }, 'collector recovered');
    }
    Object.assign(status, {
      success: true,
      lastAttemptMs: finished,
      lastSuccessMs: finished,
      lastDurationSeconds: (finished - started) / 1000,
      consecutiveFailures: 0,
    });
    delete status.lastError;
  }

  private fail(started: number, err: unknown): void {
    const finished = this.now();
    const status = this.deps.state.status(this.definition.name);
    const reason = err instanceof TimeoutError ? 'timeout' : 'error';
    const message = err instanceof Error ? err.message : String(err);
    // One line when a collector starts failing; the metrics count the rest.
    if (status.consecutiveFailures === 0) {
      this.deps.logger.error({ err, reason }, 'collector failed; the previous reading is kept and the agent keeps serving');
    }
    status.failuresTotal[reason]++;
    Object.assign(status, {
      success: false,
      lastAttemptMs: finished,
      lastDurationSeconds: (finished - started) / 1000,
      lastError: message,
      consecutiveFailures: status.consecutiveFailures + 1,
    });
  }
}
