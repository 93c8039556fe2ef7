import { driverFor } from '../../../src/collectors/db/index.js';
import { resolveOptions, type TargetOptions } from '../../../src/collectors/db/options.js';
import { TargetMonitor, type TargetReading } from '../../../src/collectors/db/target.js';
import { captureLogger } from '../../helpers/logger.js';

/** A target as the config would give it, defaults filled in. */
export function targetOptions(raw: Record<string, unknown>): TargetOptions {
  return resolveOptions({ targets: [{ name: 'db', ...raw }] }).targets[0]!;
}

export interface TestMonitor {
  monitor: TargetMonitor;
  /** One round, then the reading. */
  round(): Promise<TargetReading>;
  /** Moves the monitor's clock on (past a reconnect backoff, to a statements window). */
  advance(ms: number): void;
  logs(): Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** A real TargetMonitor on a real driver, with its log captured and a clock the test moves. */
export function testMonitor(raw: Record<string, unknown>, queryTimeoutMs = 2000): TestMonitor {
  const target = targetOptions(raw);
  const { logger, lines } = captureLogger();
  let offset = 0;
  const now = () => Date.now() + offset;
  const monitor = new TargetMonitor(target, driverFor(target, queryTimeoutMs), queryTimeoutMs, logger, now);
  return {
    monitor,
    async round() {
      await monitor.round(now() + 4 * queryTimeoutMs);
      return monitor.snapshot();
    },
    advance(ms) {
      offset += ms;
    },
    logs: lines,
    stop: () => monitor.stop(),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A count that may be briefly high while the server cleans up: the lowest of a few reads over up to a second. */
export async function settled(count: () => Promise<number>, expected = 1): Promise<number> {
  let lowest = Infinity;
  for (let i = 0; i < 10 && lowest > expected; i++) {
    lowest = Math.min(lowest, await count());
    if (lowest > expected) await sleep(100);
  }
  return lowest;
}
