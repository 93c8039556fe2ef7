import test from 'ava';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { GrantChange, GrantRow } from '../../../src/fleet/clusters/grants.js';
import { SqliteFleetStore } from '../../../src/fleet/store-sqlite.js';
import { tempDir } from '../../helpers/tmp.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const LEASE = 600_000;

const row = (host: string, o: Partial<GrantRow> = {}): GrantRow => ({
  host,
  cluster: 'pg',
  request: `${host}-request`,
  state: 'granted',
  reason: `${host}'s data disk is failing: drain granted`,
  verdict: 'drive',
  decidedMs: NOW,
  leaseExpiresMs: NOW + LEASE,
  collector: 'fleet-1',
  ...o,
});
const deferred = (host: string, o: Partial<GrantRow> = {}): GrantRow => {
  const r = row(host, { state: 'deferred', reason: `${host}: deferred`, verdict: 'prediction', ...o });
  delete r.leaseExpiresMs;
  return r;
};

async function memoryStore(t: import('ava').ExecutionContext) {
  const store = new SqliteFleetStore(':memory:');
  await store.open();
  t.teardown(() => store.close());
  return store;
}

test('decideGrants writes granted, deferred, recorded and renewed rows, deletes released ones; grants() returns them', async (t) => {
  const store = await memoryStore(t);
  t.deepEqual(await store.grants(), []);
  const a = row('a');
  const b = deferred('b');
  const c = row('c', { reason: 'c had drained already: recorded against the budget' });
  const other = row('z', { cluster: 'mysql' });
  let seen: GrantRow[] | undefined;
  const first: GrantChange[] = [
    { kind: 'granted', row: a },
    { kind: 'deferred', row: b },
    { kind: 'recorded', row: c },
  ];
  t.deepEqual(
    await store.decideGrants('pg', (current) => {
      seen = current;
      return first;
    }),
    first,
  );
  t.deepEqual(seen, []);
  await store.decideGrants('mysql', () => [{ kind: 'granted', row: other }]);
  t.deepEqual(await store.grants(), [a, b, c, other], 'by host; a deferral without a lease');
  t.false('leaseExpiresMs' in (await store.grants())[1]!);

  // The next decision sees the cluster's rows only, by host.
  const renewedA = { ...a, leaseExpiresMs: NOW + 2 * LEASE };
  const grantedB = row('b', { decidedMs: NOW + 1000 });
  await store.decideGrants('pg', (current) => {
    seen = current;
    return [
      { kind: 'renewed', row: renewedA, previous: a },
      { kind: 'granted', row: grantedB, previous: b },
      { kind: 'released', row: c, why: 'the host no longer asks to drain' },
    ];
  });
  t.deepEqual(seen, [a, b, c]);
  t.deepEqual(await store.grants(), [renewedA, grantedB, other]);

  // A release deletes only the request it names: a stale release leaves a newer row alone.
  await store.decideGrants('pg', () => [{ kind: 'released', row: { ...renewedA, request: 'older' }, why: 'stale' }]);
  t.deepEqual(await store.grants(), [renewedA, grantedB, other]);
  // A row may move to another cluster (the host changed its cluster).
  const moved = deferred('a', { cluster: 'mysql', request: 'new' });
  await store.decideGrants('mysql', () => [{ kind: 'deferred', row: moved }]);
  t.deepEqual(await store.grants(), [moved, grantedB, other]);
  // Deciding nothing changes nothing.
  await store.decideGrants('pg', () => []);
  t.deepEqual(await store.grants(), [moved, grantedB, other]);
});

test('a decide callback that throws leaves the table unchanged, and the store usable', async (t) => {
  const store = await memoryStore(t);
  await store.decideGrants('pg', () => [{ kind: 'granted', row: row('a') }]);
  const before = await store.grants();
  await t.throwsAsync(
    store.decideGrants('pg', () => {
      throw new Error('decision failed');
    }),
    { message: 'decision failed' },
  );
  t.deepEqual(await store.grants(), before);
  await store.decideGrants('pg', () => [{ kind: 'deferred', row: deferred('b') }]);
  t.deepEqual((await store.grants()).map((g) => g.host), ['a', 'b']);
});

test('a write failing part-way rolls the whole decision back', async (t) => {
  const store = await memoryStore(t);
  const a = row('a');
  await store.decideGrants('pg', () => [{ kind: 'granted', row: a }]);
  // The second upsert violates NOT NULL: the release and the first upsert before it are undone.
  const broken = { ...row('c'), reason: null } as unknown as GrantRow;
  // (better-sqlite3's SqliteError is not an Error to ava's throwsAsync: caught by hand.)
  const error = await store
    .decideGrants('pg', () => [
      { kind: 'released', row: a, why: 'gone' },
      { kind: 'granted', row: row('b') },
      { kind: 'granted', row: broken },
    ])
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  t.regex(String((error as Error | undefined)?.message), /NOT NULL constraint failed: drain_grants.reason/);
  t.deepEqual(await store.grants(), [a]);
});

test('a file-backed store keeps its grants across a close and a reopen', async (t) => {
  const path = join(await tempDir(t), 'fleet', 'fleet.db');
  const first = new SqliteFleetStore(path);
  await first.open();
  const rows = [row('a'), deferred('b')];
  await first.decideGrants('pg', () => rows.map((r) => ({ kind: r.state === 'granted' ? 'granted' : 'deferred', row: r }) as GrantChange));
  await first.close();

  const second = new SqliteFleetStore(path);
  await second.open();
  t.teardown(() => second.close());
  t.deepEqual(await second.grants(), rows);
});

test('a store from before the grants table is migrated, keeping its hosts', async (t) => {
  const path = join(await tempDir(t), 'fleet.db');
  const first = new SqliteFleetStore(path);
  await first.open();
  await first.putStatus({ host: 'db1', state: 'online', version: '0.1.0', boot: 1, receivedMs: NOW });
  await first.close();
  // Back to schema version 1: the store as the release before cluster-aware balancing left it.
  const raw = new Database(path);
  raw.exec('DROP TABLE drain_grants');
  raw.pragma('user_version = 1');
  raw.close();

  const second = new SqliteFleetStore(path);
  await second.open();
  t.teardown(() => second.close());
  t.deepEqual(await second.grants(), []);
  await second.decideGrants('pg', () => [{ kind: 'granted', row: row('db1') }]);
  t.deepEqual(await second.grants(), [row('db1')]);
  t.like((await second.hosts())[0], { host: 'db1', state: 'online', version: '0.1.0' });
  const check = new Database(path, { readonly: true });
  t.is(check.pragma('user_version', { simple: true }), 2);
  check.close();
});
