import { chownSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { OverrideWatcher } from '../../src/balance/override-watch.js';
import { OverrideStore, type Override } from '../../src/balance/override.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2025-03-01T10:00:00Z');

async function setup(t: Parameters<typeof tempDir>[0]) {
  const store = new OverrideStore(await tempDir(t));
  let nowMs = T0;
  const changes: Array<{ mode: string | undefined; problem?: string }> = [];
  const timers: Array<{ tick: () => void; ms: number }> = [];
  let cleared = 0;
  const watcher = new OverrideWatcher({
    store,
    now: () => nowMs,
    onChange: (active, problem) => changes.push({ mode: active?.mode, ...(problem ? { problem } : {}) }),
    setInterval: (tick, ms) => timers.push({ tick, ms }),
    clearInterval: () => cleared++,
  });
  return { store, watcher, changes, timers, advance: (ms: number) => (nowMs += ms), cleared: () => cleared };
}

const drain = (untilMs?: number): Override => ({ mode: 'drain', reason: 'disk sdb', by: 'root', setAtMs: T0, ...(untilMs ? { untilMs } : {}) });

test('start applies a persisted override at once, then polls every 500 ms', async (t) => {
  const { store, watcher, changes, timers, cleared } = await setup(t);
  store.write(drain());
  const started = watcher.start();
  t.deepEqual(changes, [{ mode: 'drain' }], 'checked before start() returned');
  await started;
  t.is(watcher.active()?.reason, 'disk sdb');
  t.is(timers.length, 1);
  t.is(timers[0]!.ms, 500);
  await watcher.stop();
  t.is(cleared(), 1);
});

test('set, replaced, removed, and no news without a change', async (t) => {
  const { store, watcher, changes } = await setup(t);
  await watcher.start();
  t.deepEqual(changes, [{ mode: undefined }], 'the first check says there is none');
  watcher.tick();
  t.is(changes.length, 1);
  store.write(drain());
  watcher.tick();
  watcher.tick();
  store.write({ ...drain(), mode: 'hold', reason: 'working on it' });
  watcher.tick();
  store.write({ ...drain(), mode: 'hold', reason: 'working on it' });
  watcher.tick();
  t.deepEqual(changes.slice(1), [{ mode: 'drain' }, { mode: 'hold' }], 'the same override rewritten is no change');
  store.clear();
  watcher.tick();
  t.deepEqual(changes.slice(3), [{ mode: undefined }]);
});

test('an override with an until expires by the injected clock, without the file changing', async (t) => {
  const { store, watcher, changes, advance } = await setup(t);
  store.write(drain(T0 + 60_000));
  await watcher.start();
  advance(59_999);
  watcher.tick();
  t.deepEqual(changes, [{ mode: 'drain' }]);
  advance(1);
  watcher.tick();
  watcher.tick();
  t.deepEqual(changes, [{ mode: 'drain' }, { mode: undefined }]);
  t.is(watcher.active(), undefined);
});

test('an invalid file counts as none, and its problem is told once until the file changes', async (t) => {
  const { store, watcher, changes } = await setup(t);
  store.write(drain());
  await watcher.start();
  writeFileSync(store.path, '{"version":1,');
  watcher.tick();
  watcher.tick();
  t.is(changes.length, 2);
  t.is(changes[1]!.mode, undefined);
  t.regex(changes[1]!.problem!, /not valid JSON/);
  writeFileSync(store.path, '{"version":1,"mode":"up"}');
  watcher.tick();
  t.is(changes.length, 3);
  t.regex(changes[2]!.problem!, /mode is "up"/);
  store.write(drain());
  watcher.tick();
  t.deepEqual(changes[3], { mode: 'drain' });
  // A chown to a stranger changes the signature (ctime) and makes the file untrusted.
  chownSync(store.path, 65534, 65534);
  watcher.tick();
  t.is(changes[4]!.mode, undefined);
  t.regex(changes[4]!.problem!, /owned by uid 65534/);
});
