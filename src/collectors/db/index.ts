import type { CollectorDefinition } from '../types.js';
import { DbCollector, type DbReading } from './collector.js';
import type { DbDriver, DbSession } from './driver.js';
import { registerDbMetrics } from './metrics.js';
import { checkDbOptions, DB_OPTIONS, resolveOptions, type TargetOptions } from './options.js';
import { TargetMonitor } from './target.js';

export type { DbReading } from './collector.js';
export type { TargetReading } from './target.js';

/**
 * The driver for a target, loaded with its first connection: an agent without database targets
 * (or with only one kind) does not carry pg or mysql2 in memory.
 */
export function driverFor(target: TargetOptions, queryTimeoutMs: number): DbDriver {
  let driver: Promise<DbDriver> | undefined;
  const load = async (): Promise<DbDriver> =>
    target.driver === 'postgres'
      ? new (await import('./postgres.js')).PostgresDriver(target, queryTimeoutMs)
      : new (await import('./mysql.js')).MysqlDriver(target, queryTimeoutMs);
  return {
    async connect(): Promise<DbSession> {
      driver ??= load();
      return (await driver).connect();
    },
  };
}

export const dbCollector: CollectorDefinition<DbReading> = {
  name: 'db',
  description: 'query latency of PostgreSQL and MySQL/MariaDB: a probe query per target, and the servers\' own statement statistics',
  // On, and idle until targets are listed: adding a target is all it takes.
  defaults: { enabled: true, interval: '15s', timeout: '10s' },
  options: DB_OPTIONS,
  check: checkDbOptions,
  idle: (options) => ((options.targets ?? []) as unknown[]).length === 0,
  create({ settings, logger }) {
    const { queryTimeoutMs, targets } = resolveOptions(settings.options);
    const monitors = targets.map((t) => new TargetMonitor(t, driverFor(t, queryTimeoutMs), queryTimeoutMs, logger));
    // Return a little before the scheduler's timeout, so a slow target never fails the whole round.
    return new DbCollector(monitors, settings.timeoutMs - Math.min(1000, settings.timeoutMs / 10));
  },
  registerMetrics: registerDbMetrics,
};
