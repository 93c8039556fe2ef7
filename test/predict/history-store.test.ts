import { spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import Database from 'better-sqlite3';
import { MemoryHistoryStore, SqliteHistoryStore } from '../../src/predict/history-store.js';
import type { DiskSample } from '../../src/predict/types.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T12:00:00Z');
const sample = (atMs: number, pending = 0): DiskSample => ({ atMs, protocol: 'ata', pendingSectors: pending });

for (const [name, make] of [
  ['sqlite', async (t: Parameters<typeof tempDir>[0]) => SqliteHistoryStore.open(await tempDir(t))],
  ['memory', async () => new MemoryHistoryStore()],
] as const) {
  test(`${name}: the first and last sample of each day are kept; history is oldest first`, async (t) => {
    const store = await make(t);
    store.append('d1', sample(T0, 1));
    store.append('d1', sample(T0 + 1_800_000, 5)); // same day, in between: replaced by the next
    store.append('d1', sample(T0 + 3_600_000, 2)); // same day, later
    store.append('d1', sample(T0 + 1000, 9)); // same day, between first and last: neither
    store.append('d1', sample(T0 + DAY, 3));
    store.append('d2', sample(T0, 7));
    t.deepEqual(store.history('d1', 0).map((s) => s.pendingSectors), [1, 2, 3]);
    t.deepEqual(store.history('d1', T0 + DAY).map((s) => s.pendingSectors), [3]);
    t.deepEqual(store.history('d2', 0).map((s) => s.pendingSectors), [7]);
    store.close();
  });

  test(`${name}: a disk's alarm is saved, replaced and forgotten, apart from other disks`, async (t) => {
    const store = await make(t);
    t.is(store.alarm('d1'), undefined);
    store.saveAlarm('d1', { sinceMs: T0, replaceByMs: T0 + 10 * DAY, serial: 'S1' });
    store.saveAlarm('d2', { sinceMs: T0, replaceByMs: T0 + 2 * DAY });
    store.saveAlarm('d1', { sinceMs: T0, replaceByMs: T0 + 4 * DAY, belowSinceMs: T0 + DAY, serial: 'S1' });
    t.deepEqual(store.alarm('d1'), { sinceMs: T0, replaceByMs: T0 + 4 * DAY, belowSinceMs: T0 + DAY, serial: 'S1' });
    store.saveAlarm('d2', undefined);
    t.is(store.alarm('d2'), undefined);
    t.truthy(store.alarm('d1'));
    store.close();
  });

  test(`${name}: samples older than the retention are pruned`, async (t) => {
    const store = await make(t);
    store.append('d1', sample(T0));
    store.append('d1', sample(T0 + 200 * DAY));
    t.is(store.history('d1', 0).length, 1);
    store.close();
  });
}

test('history survives a restart (a new store on the same directory)', async (t) => {
  const dir = await tempDir(t);
  const first = SqliteHistoryStore.open(dir);
  for (let d = 0; d < 90; d++) first.append('disk', sample(T0 + d * DAY, d));
  first.close();
  const again = SqliteHistoryStore.open(dir);
  t.is(again.history('disk', 0).length, 90);
  again.close();
});

test("a disk's alarm survives a restart; one left by a disk that went away is pruned with its samples", async (t) => {
  const dir = await tempDir(t);
  const first = SqliteHistoryStore.open(dir);
  first.append('kept', sample(T0 + 100 * DAY));
  first.append('gone', sample(T0));
  first.saveAlarm('kept', { sinceMs: T0, replaceByMs: T0 + 3 * DAY });
  first.saveAlarm('gone', { sinceMs: T0, replaceByMs: T0 + 3 * DAY });
  first.close();
  const again = SqliteHistoryStore.open(dir);
  t.deepEqual(again.alarm('kept'), { sinceMs: T0, replaceByMs: T0 + 3 * DAY });
  t.truthy(again.alarm('gone'), 'kept while its samples are');
  // 200 days on: the samples of `gone` (day 0) are past the retention, those of `kept` (day 100) not.
  again.append('kept', sample(T0 + 200 * DAY));
  t.is(again.alarm('gone'), undefined);
  t.truthy(again.alarm('kept'));
  again.close();
});

test('read-only (harbinger check): alarms are read; a state directory from before alarms were kept has none', async (t) => {
  const dir = await tempDir(t);
  const writer = SqliteHistoryStore.open(dir);
  writer.saveAlarm('d1', { sinceMs: T0, replaceByMs: T0 + 3 * DAY });
  writer.close();
  const reader = new SqliteHistoryStore(join(dir, 'history.sqlite'), { readonly: true });
  t.deepEqual(reader.alarm('d1'), { sinceMs: T0, replaceByMs: T0 + 3 * DAY });
  reader.close();
  const old = await tempDir(t);
  const db = new Database(join(old, 'history.sqlite'));
  db.exec(`CREATE TABLE samples (disk TEXT NOT NULL, day TEXT NOT NULL, slot TEXT NOT NULL, at_ms INTEGER NOT NULL, sample TEXT NOT NULL, PRIMARY KEY (disk, day, slot)) WITHOUT ROWID`);
  db.close();
  const oldReader = new SqliteHistoryStore(join(old, 'history.sqlite'), { readonly: true });
  t.is(oldReader.alarm('d1'), undefined);
  t.deepEqual(oldReader.history('d1', 0), []);
  oldReader.close();
  // Opened for writing, the same old file gains the table.
  const upgraded = SqliteHistoryStore.open(old);
  upgraded.saveAlarm('d1', { sinceMs: T0, replaceByMs: T0 + DAY });
  t.truthy(upgraded.alarm('d1'));
  upgraded.close();
});

test('a process killed mid-write leaves a consistent database with every committed day', async (t) => {
  const dir = await tempDir(t);
  // A writer appending as fast as it can, killed with SIGKILL while it writes.
  const writer = spawn(process.execPath, [
    '--input-type=module',
    '-e',
    `import { SqliteHistoryStore } from ${JSON.stringify(repoPath('dist/src/predict/history-store.js'))};
     const store = SqliteHistoryStore.open(${JSON.stringify(dir)});
     for (let i = 0; ; i++) { store.append('disk' + (i % 8), { atMs: ${T0} + Math.floor(i / 8) * 86400000, protocol: 'ata', pendingSectors: i }); if (i === 400) console.log('writing'); }`,
  ]);
  await new Promise<void>((resolve) => writer.stdout.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 300));
  writer.kill('SIGKILL');
  await new Promise((r) => writer.once('exit', r));
  const db = new Database(join(dir, 'history.sqlite'));
  t.is((db.pragma('integrity_check') as Array<{ integrity_check: string }>)[0]!.integrity_check, 'ok');
  db.close();
  const store = SqliteHistoryStore.open(dir);
  const days = store.history('disk0', 0);
  t.true(days.length > 10, `${days.length} days kept`);
  t.true(days.every((s, i) => i === 0 || s.atMs - days[i - 1]!.atMs === 86_400_000), 'no gap, no torn row');
  store.close();
});

test('a full disk: append and saveAlarm fail with SQLITE_FULL (the caller counts them) and what was saved stays readable', async (t) => {
  const dir = await tempDir(t);
  // A real full file system: a 128 KiB tmpfs in a private mount namespace (unshare -rm works as
  // root and, where user namespaces are allowed, as a user), holding the state directory.
  const script = `import { SqliteHistoryStore } from ${JSON.stringify(repoPath('dist/src/predict/history-store.js'))};
    const store = SqliteHistoryStore.open(process.argv[1]);
    store.saveAlarm('disk', { sinceMs: ${T0}, replaceByMs: ${T0 + 3 * DAY} });
    let saved = 0, error, alarmError;
    for (let d = 0; d < 1000 && !error; d++) {
      try { store.append('disk', { atMs: ${T0} + d * 86400000, protocol: 'ata', pendingSectors: d, serial: 'x'.repeat(2000) }); saved++; }
      catch (err) { error = err.code; }
    }
    try { store.saveAlarm('disk', { sinceMs: ${T0}, replaceByMs: ${T0 + DAY}, serial: 'x'.repeat(20000) }); } catch (err) { alarmError = err.code; }
    console.log(JSON.stringify({ saved, error, readable: store.history('disk', 0).length, alarmError, alarm: store.alarm('disk') }));`;
  const child = spawn('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=128k tmpfs "$1" && exec "$2" --input-type=module -e "$3" "$1"', 'sh', dir, process.execPath, script]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  t.is(code, 0, `unshare/mount failed (needs root or user namespaces): ${err}`);
  const result = JSON.parse(out) as { saved: number; error: string; readable: number; alarmError: string; alarm: unknown };
  t.is(result.error, 'SQLITE_FULL');
  t.is(result.alarmError, 'SQLITE_FULL');
  t.deepEqual(result.alarm, { sinceMs: T0, replaceByMs: T0 + 3 * DAY }, 'the alarm saved before the disk filled');
  t.true(result.saved > 0);
  t.is(result.readable, result.saved, 'every sample saved before the disk filled is still there');
});
