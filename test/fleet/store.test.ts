import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { FleetStoreSettings } from '../../src/fleet/settings.js';
import type { FleetStore } from '../../src/fleet/store.js';
import { diskRecord, eventRecord, statusRecord, T0 } from '../helpers/fleet-records.js';
import { fleetDatabase, openStore } from '../helpers/fleet.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';

const postgres = sharedPostgres(test);

/** Settings for a fresh, empty store of each driver (a temporary file; a database of its own). */
const DRIVERS: Record<'sqlite' | 'postgres', (t: ExecutionContext) => Promise<FleetStoreSettings>> = {
  sqlite: async (t) => ({ driver: 'sqlite', path: join(await tempDir(t), 'state', 'fleet.sqlite') }),
  postgres: async (t) => {
    const db = await fleetDatabase(t, await postgres());
    return { driver: 'postgres', dsn: db.dsn, password: db.password };
  },
};

/** The same test against both drivers: they must behave the same. */
function both(title: string, body: (t: ExecutionContext, store: FleetStore, settings: FleetStoreSettings) => Promise<void>): void {
  for (const [driver, settings] of Object.entries(DRIVERS)) {
    test(`${driver}: ${title}`, async (t) => {
      const s = await settings(t);
      await body(t, await openStore(t, s), s);
    });
  }
}

both('an event is stored once per (source, id); the same id from another host is another event', async (t, store) => {
  t.true(await store.addEvent(eventRecord('db1', 'a1')));
  t.false(await store.addEvent(eventRecord('db1', 'a1', { receivedMs: T0 + 5000 })), 'a redelivery');
  t.true(await store.addEvent(eventRecord('db2', 'a1')));
  t.is(await store.countEvents(), 2);
  const [stored] = await store.events({ host: 'db1', limit: 10 });
  t.deepEqual(stored, eventRecord('db1', 'a1'), 'the first copy is kept, data and all');
  t.deepEqual(
    (await store.hosts()).map((h) => [h.host, h.state, h.lastSeenMs]),
    [
      ['db1', 'unknown', T0 + 5000],
      ['db2', 'unknown', T0],
    ],
    'an event makes its host known, and seen',
  );
});

both('events: newest first, filtered by host and disk, limited', async (t, store) => {
  for (let i = 0; i < 5; i++) {
    await store.addEvent(eventRecord(i % 2 ? 'db2' : 'db1', `e${i}`, { time: new Date(T0 + i * 1000).toISOString(), disk: i < 3 ? 'sdb' : 'sdc' }));
  }
  t.deepEqual((await store.events({ limit: 100 })).map((e) => e.id), ['e4', 'e3', 'e2', 'e1', 'e0']);
  t.deepEqual((await store.events({ host: 'db1', limit: 100 })).map((e) => e.id), ['e4', 'e2', 'e0']);
  t.deepEqual((await store.events({ host: 'db1', disk: 'sdc', limit: 100 })).map((e) => e.id), ['e4']);
  t.deepEqual((await store.events({ limit: 2 })).map((e) => e.id), ['e4', 'e3']);
});

both('a disk state round-trips, and an older reading never overwrites a newer one', async (t, store) => {
  const first = diskRecord('db1', 'sdb', 'degraded');
  await store.putDisk(first);
  t.deepEqual(await store.disks(), [first]);
  const later = diskRecord('db1', 'sdb', 'failing', { lastReading: new Date(T0 + 60_000).toISOString(), updatedMs: T0 + 61_000, replaceBy: '2026-12-01' });
  await store.putDisk(later);
  await store.putDisk({ ...first, updatedMs: T0 + 62_000 }); // a slower collector, or a stale redelivery
  t.deepEqual(await store.disks(), [later]);
  const bare = diskRecord('db1', 'sda', 'ok', { evidence: [] });
  delete bare.model;
  delete bare.serial;
  delete bare.horizonDays;
  await store.putDisk(bare);
  t.deepEqual((await store.disks()).find((d) => d.disk === 'sda'), bare, 'absent optional fields stay absent');
  t.like((await store.hosts())[0], { host: 'db1', state: 'unknown', lastSeenMs: T0 + 62_000 });
});

both('a cleared disk slot removes that disk only', async (t, store) => {
  await store.putDisk(diskRecord('db1', 'sda', 'ok'));
  await store.putDisk(diskRecord('db1', 'sdb', 'failing', { slot: 'slot_b' }));
  await store.putDisk(diskRecord('db2', 'sdb', 'failing', { slot: 'slot_b' }));
  await store.removeDisk('db1', 'slot_b', T0 + 1000);
  t.deepEqual((await store.disks()).map((d) => `${d.host}/${d.disk}`), ['db1/sda', 'db2/sdb']);
  t.is((await store.hosts()).find((h) => h.host === 'db1')!.lastSeenMs, T0 + 1000);
});

both('host status: online, offline; a status of an older boot does not undo a newer one; a cleared status forgets the host', async (t, store) => {
  await store.putDisk(diskRecord('db1', 'sda', 'ok'));
  await store.putStatus(statusRecord('db1', 'online', 1));
  t.like((await store.hosts())[0], { host: 'db1', state: 'online', version: '0.1.0', boot: 1, started: new Date(T0 - 60_000).toISOString() });
  t.false('reason' in (await store.hosts())[0]!);
  await store.putStatus(statusRecord('db1', 'offline', 1, T0 + 1000));
  t.like((await store.hosts())[0], { state: 'offline', reason: 'shutdown', lastSeenMs: T0 + 1000 });
  await store.putStatus(statusRecord('db1', 'online', 2, T0 + 2000));
  await store.putStatus(statusRecord('db1', 'offline', 1, T0 + 3000));
  t.like((await store.hosts())[0], { state: 'online', boot: 2 });
  await store.removeHost('db1');
  t.deepEqual(await store.hosts(), []);
  t.is((await store.disks()).length, 1, 'its disks have their own retained topics');
});

both('prune drops events received before the cut-off', async (t, store) => {
  await store.addEvent(eventRecord('db1', 'old', { receivedMs: T0 - 400 * 86_400_000 }));
  await store.addEvent(eventRecord('db1', 'new'));
  t.is(await store.prune(T0 - 365 * 86_400_000), 1);
  t.deepEqual((await store.events({ limit: 10 })).map((e) => e.id), ['new']);
  t.is(await store.prune(T0 - 365 * 86_400_000), 0);
});

both('the state survives closing and reopening; opening again applies no migration twice', async (t, store, settings) => {
  await store.addEvent(eventRecord('db1', 'kept'));
  await store.putDisk(diskRecord('db1', 'sdb', 'failing'));
  await store.close();
  const again = await openStore(t, settings);
  t.is(await again.countEvents(), 1);
  t.is((await again.disks())[0]!.level, 'failing');
  t.false(await again.addEvent(eventRecord('db1', 'kept')), 'dedup holds across restarts');
});

test('postgres: two collectors on one database, starting together and storing the same events, store each once', async (t) => {
  const settings = await DRIVERS.postgres(t);
  const [a, b] = await Promise.all([openStore(t, settings), openStore(t, settings)]);
  const ids = Array.from({ length: 40 }, (_, i) => `id${i}`);
  const results = await Promise.all(ids.flatMap((id) => [a.addEvent(eventRecord('db1', id)), b.addEvent(eventRecord('db1', id))]));
  t.is(results.filter(Boolean).length, ids.length, 'exactly one INSERT per event won');
  t.is(await a.countEvents(), ids.length);
});

test('postgres: a wrong password is an error at open, naming no secret', async (t) => {
  const db = await fleetDatabase(t, await postgres());
  const err = await t.throwsAsync(openStore(t, { driver: 'postgres', dsn: db.dsn, password: 'wrong-password-123' }));
  t.regex(err!.message, /password authentication failed/);
  t.false(err!.message.includes('wrong-password-123'));
});
