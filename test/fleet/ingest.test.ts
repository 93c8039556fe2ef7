import test from 'ava';
import { FleetHttp } from '../../src/fleet/http.js';
import { INVALID_LOG_HOSTS, INVALID_LOG_INTERVAL_MS, Ingest } from '../../src/fleet/ingest.js';
import type { FleetMetrics } from '../../src/fleet/metrics.js';
import type { FleetStore } from '../../src/fleet/store.js';
import { SqliteFleetStore } from '../../src/fleet/store-sqlite.js';
import { payloads, ROOT } from '../helpers/fleet-service.js';
import { captureLogger } from '../helpers/logger.js';

async function memoryStore(t: { teardown: (f: () => Promise<void>) => void }): Promise<SqliteFleetStore> {
  const store = new SqliteFleetStore(':memory:');
  await store.open();
  t.teardown(() => store.close());
  return store;
}

test('20,000 invalid messages from distinct hosts: a bounded log, every one counted, one summary line per interval', async (t) => {
  const store = await memoryStore(t);
  const { logger, lines } = captureLogger();
  let clock = Date.parse('2026-12-03T12:00:00Z');
  const ingest = new Ingest({ store, logger, topicRoot: ROOT, now: () => clock });
  const invalidLines = () => lines().filter((l) => /invalid message/.test(String(l.msg)));
  const summaries = () => lines().filter((l) => /more invalid messages from/.test(String(l.msg)));

  for (let i = 0; i < 20_000; i++) {
    t.is(await ingest.handle(`${ROOT}/host-${i}/status`, Buffer.from('{"state":')), 'invalid');
    if (i % 1000 === 0) clock += 1; // time moves, but stays inside the interval
  }
  t.is(ingest.stats.invalid.status, 20_000, 'every message counted');
  t.is(invalidLines().length, INVALID_LOG_HOSTS, 'only the first hosts of the interval are logged');
  t.true(lines().length <= 20);
  t.is(summaries().length, 0, 'no summary before the interval has passed');

  clock += INVALID_LOG_INTERVAL_MS;
  ingest.rollInvalidInterval();
  ingest.rollInvalidInterval();
  t.is(summaries().length, 1, 'one summary line once the interval has passed');
  t.like(summaries()[0], { messages: 20_000 - INVALID_LOG_HOSTS, hosts: 1000 });
  t.regex(String(summaries()[0]!.msg), /^19990 more invalid messages from at least 1000 hosts in the last minute; see harbinger_fleet_invalid_messages_total$/);

  // A new interval: a host is logged again, and a message of any kind ends an interval too.
  await ingest.handle(`${ROOT}/host-1/status`, Buffer.from('{"state":'));
  await ingest.handle(`${ROOT}/host-1/status`, Buffer.from('{"state":'));
  t.is(invalidLines().length - summaries().length, INVALID_LOG_HOSTS + 1);
  clock += INVALID_LOG_INTERVAL_MS;
  await ingest.handle(`${ROOT}/db1/status`, Buffer.from(JSON.stringify(payloads.status('db1', 'online'))));
  t.is(summaries().length, 2);
  t.like(summaries()[1], { messages: 1, hosts: 0 });
  t.is(ingest.stats.invalid.status, 20_002);
});

/** A SQLite store whose writes fail as on a full disk while its reads still work. */
function fullDisk(store: FleetStore): FleetStore & { full: boolean } {
  const wrapped = Object.create(store) as FleetStore & { full: boolean };
  wrapped.full = true;
  const enospc = () => Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL', errno: 28 });
  for (const write of ['addEvent', 'putStatus', 'putDisk', 'removeDisk', 'removeHost', 'prune'] as const) {
    const original = (store[write] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (wrapped as any)[write] = async (...args: unknown[]) => {
      if (wrapped.full) throw enospc();
      return original(...args);
    };
  }
  for (const read of ['hosts', 'disks', 'events', 'countEvents', 'grants'] as const) (wrapped as any)[read] = (store[read] as any).bind(store);
  return wrapped;
}

test('store health follows writes: a store that reads but cannot write stays down until a write succeeds', async (t) => {
  const store = fullDisk(await memoryStore(t));
  const { logger, lines } = captureLogger();
  const ingest = new Ingest({ store, logger, topicRoot: ROOT, now: Date.now });
  const http = new FleetHttp(
    { listenAddress: { host: '127.0.0.1', port: 0 }, web: undefined },
    {
      store,
      metrics: {} as FleetMetrics,
      logger,
      version: '0.0.0-test',
      now: Date.now,
      health: () => ({ status: ingest.stats.storeUp ? 'ok' : 'degraded', store: { up: ingest.stats.storeUp } }),
      storeRead: (err) => ingest.storeRead(err),
      clusters: async () => [],
    },
  );
  await http.start();
  t.teardown(() => http.stop());
  const url = `http://127.0.0.1:${http.port}`;
  const worksAgain = () => lines().filter((l) => l.msg === 'the fleet store works again');
  const status = Buffer.from(JSON.stringify(payloads.status('db1', 'online')));

  await t.throwsAsync(ingest.handle(`${ROOT}/db1/status`, status), { message: /disk is full/ });
  t.false(ingest.stats.storeUp);
  t.is(lines().filter((l) => String(l.msg).startsWith('cannot write to the fleet store')).length, 1);

  t.is((await fetch(`${url}/api/fleet`)).status, 200, 'reads still work');
  t.is((await fetch(`${url}/api/events`)).status, 200);
  t.false(ingest.stats.storeUp, 'a successful read does not clear a failed write');
  t.like(await (await fetch(`${url}/health`)).json(), { status: 'degraded', store: { up: false } });
  t.is(worksAgain().length, 0, 'no "works again" while writes fail');

  store.full = false;
  t.is(await ingest.handle(`${ROOT}/db1/status`, status), 'state');
  t.true(ingest.stats.storeUp);
  await fetch(`${url}/api/fleet`);
  t.is(worksAgain().length, 1, 'said once, when a write succeeded');
});

test('a store that cannot be read is down; a good read clears only that', async (t) => {
  const store = await memoryStore(t);
  const { logger, lines } = captureLogger();
  const ingest = new Ingest({ store, logger, topicRoot: ROOT, now: Date.now });
  ingest.storeRead(new Error('no such table'));
  t.false(ingest.stats.storeUp);
  ingest.storeRead();
  t.true(ingest.stats.storeUp);
  t.is(lines().filter((l) => l.msg === 'the fleet store works again').length, 0);
  t.is(lines().filter((l) => l.msg === 'the fleet store can be read again').length, 1);
});
