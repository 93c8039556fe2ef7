import test from 'ava';
import { BALANCE_SETTINGS } from './helpers/balance.js';
import { CLUSTER_SETTINGS } from './helpers/fleet-service.js';
import type { CollectorDefinition } from '../src/collectors/types.js';
import type { Config } from '../src/config/load.js';
import { Scheduler } from '../src/scheduler.js';
import { State } from '../src/state.js';
import { captureLogger } from './helpers/logger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for what the scheduler has done (runs, statuses), not for a fixed time: on a busy machine
 * the runs come later, never fewer. The timeout only ends a test that would otherwise hang.
 */
async function until(what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function configFor(name: string, intervalMs: number, timeoutMs: number, enabled = true): Config {
  return {
    file: undefined,
    web: { listenAddress: { port: 0 }, configFile: undefined },
    log: { level: 'info' },
    path: { procfs: '/proc', sysfs: '/sys' },
    stateDir: '/nonexistent',
    predict: { alarmProbability: 0.05 },
    mqtt: undefined,
    balance: BALANCE_SETTINGS,
    fleet: { listenAddress: { port: 0 }, webConfigFile: undefined, group: 'g', clientId: 'c', sessionExpirySeconds: 60, historyDays: 1, store: { driver: 'sqlite', path: ':memory:' }, clusters: CLUSTER_SETTINGS },
    collector: { [name]: { enabled, intervalMs, timeoutMs, options: {} } },
  };
}

function definition(name: string, collect: (signal: AbortSignal) => Promise<unknown>, once = false): CollectorDefinition {
  return {
    name,
    description: 'test',
    defaults: { enabled: true, interval: '1s', timeout: '1s' },
    once,
    create: () => ({ collect }),
    registerMetrics: () => {},
  };
}

test('a collector that keeps failing logs one line, counts every failure, keeps its last reading', async (t) => {
  let calls = 0;
  const def = definition('flaky', async () => {
    calls++;
    if (calls === 1) return { value: 1 };
    throw new Error('disk on fire');
  });
  const state = new State();
  const { logger, lines } = captureLogger();
  const scheduler = new Scheduler([def], configFor('flaky', 30, 20), { state, logger });
  scheduler.start();
  await until('four runs, the last three failed', () => state.status('flaky').consecutiveFailures >= 3);
  await scheduler.stop();
  const status = state.status('flaky');
  t.true(calls >= 4, `ran ${calls} times`);
  t.false(status.success);
  t.is(status.failuresTotal.error, calls - 1);
  t.is(status.consecutiveFailures, calls - 1);
  t.is(status.lastError, 'disk on fire');
  t.deepEqual(state.reading('flaky'), { value: 1 }, 'last good reading kept');
  const errors = lines().filter((l) => l.level === 50);
  t.is(errors.length, 1, 'one line for the outage, not one per tick');
  t.is(errors[0]!.collector, 'flaky');
});

test('a hung collector times out, is aborted, and never runs twice at once', async (t) => {
  let running = 0;
  let maxRunning = 0;
  let aborted = 0;
  const def = definition('hang', (signal) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise((_, reject) => {
      // Honour the abort only after a while, like a read stuck in the kernel.
      signal.addEventListener('abort', () => {
        aborted++;
        setTimeout(() => {
          running--;
          reject(signal.reason);
        }, 80);
      });
    });
  });
  const state = new State();
  const { logger } = captureLogger();
  const scheduler = new Scheduler([def], configFor('hang', 40, 20), { state, logger });
  scheduler.start();
  await until('three timeouts, two aborts', () => state.status('hang').failuresTotal.timeout >= 3 && aborted >= 2);
  await scheduler.stop();
  const status = state.status('hang');
  t.is(maxRunning, 1);
  t.true(aborted >= 2);
  t.true(status.failuresTotal.timeout >= 3, JSON.stringify(status));
  t.is(status.failuresTotal.error, 0);
  t.is(status.success, false);
});

test('recovery is logged once and clears the error', async (t) => {
  let calls = 0;
  const def = definition('recovering', async () => {
    calls++;
    if (calls <= 2) throw new Error('not yet');
    return calls;
  });
  const state = new State();
  const { logger, lines } = captureLogger();
  const scheduler = new Scheduler([def], configFor('recovering', 20, 10), { state, logger });
  scheduler.start();
  await until('the third run, a success', () => state.status('recovering').success === true);
  await scheduler.stop();
  const status = state.status('recovering');
  t.true(status.success);
  t.is(status.lastError, undefined);
  t.is(status.failuresTotal.error, 2);
  t.is(lines().filter((l) => l.msg === 'collector recovered').length, 1);
});

test('a run-once collector stops after its first success and retries until then', async (t) => {
  let calls = 0;
  const def = definition(
    'once',
    async () => {
      calls++;
      if (calls === 1) throw new Error('first try fails');
      return 'info';
    },
    true,
  );
  const state = new State();
  const { logger } = captureLogger();
  const scheduler = new Scheduler([def], configFor('once', 20, 10), { state, logger });
  scheduler.start();
  await until('the first success', () => state.reading('once') !== undefined);
  // Then several intervals in which it must not run again (on a busy machine it is checked
  // over fewer intervals, never wrongly failed).
  await sleep(100);
  await scheduler.stop();
  t.is(calls, 2);
  t.is(state.reading('once'), 'info');
});

test('a disabled collector does not run and has no status series', async (t) => {
  let calls = 0;
  const def = definition('off', async () => ++calls);
  const state = new State();
  const { logger } = captureLogger();
  const scheduler = new Scheduler([def], configFor('off', 20, 10, false), { state, logger });
  scheduler.start();
  await sleep(60);
  await scheduler.stop();
  t.is(calls, 0);
  t.false(state.status('off').enabled);
});

test('stop() returns promptly even when a collection ignores its abort signal', async (t) => {
  const def = definition('deaf', () => new Promise(() => {}));
  const state = new State();
  const { logger } = captureLogger();
  const scheduler = new Scheduler([def], configFor('deaf', 10_000, 5_000), { state, logger });
  scheduler.start();
  const started = Date.now();
  await scheduler.stop();
  t.true(Date.now() - started < 1500);
});
