import { readFileSync } from 'node:fs';
import test from 'ava';
import type { SmartReading } from '../../src/collectors/smart/collector.js';
import { parseSmartctlOutput } from '../../src/collectors/smart/parse.js';
import { MemoryHistoryStore, SqliteHistoryStore, type HistoryStore } from '../../src/predict/history-store.js';
import { replaceByDate } from '../../src/predict/replace-by.js';
import { PredictionService } from '../../src/predict/service.js';
import { captureLogger } from '../helpers/logger.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 6);

/** The replay disk's recording `name` (examples/replay/sdb), read at `atMs`. */
function round(name: string, atMs: number): SmartReading {
  const reading = parseSmartctlOutput(readFileSync(repoPath(`examples/replay/sdb/${name}.json`), 'utf8'), { device: '/dev/sdb' });
  return { devices: [{ spec: { path: '/dev/sdb' }, reading, readingAtMs: atMs, asleep: false, consecutiveSkips: 0, consecutiveTimeouts: 0, backoffRounds: 0, errorsTotal: {} }] };
}

/** Feeds one recording a day from `day`; returns each day's level and replace-by. */
function feed(store: HistoryStore, names: readonly string[], day = 0): Array<[string, string | undefined]> {
  let now = 0;
  const service = new PredictionService(store, captureLogger().logger, () => now);
  return names.map((name, i) => {
    now = T0 + (day + i) * DAY;
    const disk = service.onSmartReading(round(name, now)).disks[0]!;
    return [disk.level, disk.replaceBy];
  });
}

test('the replace-by date is set by the first alarm and holds while the disk stays degraded, then failing: it never moves away', (t) => {
  const seen = feed(new MemoryHistoryStore(), ['001', '002', '002', '002', '003', '003', '004', '004']);
  t.deepEqual(
    seen.map(([level]) => level),
    ['ok', 'degraded', 'degraded', 'degraded', 'degraded', 'degraded', 'failing', 'failing'],
  );
  t.is(seen[0]![1], undefined);
  // First alarm on 2026-03-02 at p ≈ 0.10: within 3 days. Later readings ask for later dates (a
  // reading from tomorrow on), so the first date stands, overdue once it has passed.
  t.true(seen.slice(1).every(([, replaceBy]) => replaceBy === '2026-03-05'), JSON.stringify(seen));
});

test('the alarm and its date survive a restart of the agent; `harbinger check` (a read-only store) shows the same date', async (t) => {
  const dir = await tempDir(t);
  const first = SqliteHistoryStore.open(dir);
  const before = feed(first, ['001', '002']);
  first.close();
  const again = SqliteHistoryStore.open(dir);
  const after = feed(again, ['002', '003'], 5);
  again.close();
  t.is(before[1]![1], '2026-03-05');
  t.deepEqual(after, [['degraded', '2026-03-05'], ['degraded', '2026-03-05']]);
  // Without the saved alarm, the same reading would ask for a date after its own day (day 5).
  const fresh = feed(new MemoryHistoryStore(), ['002'], 5);
  t.true(fresh[0]![1]! > '2026-03-06', fresh[0]![1]);
  const readOnly = new SqliteHistoryStore(`${dir}/history.sqlite`, { readonly: true });
  const checked = feed({ append: () => {}, history: (d, s) => readOnly.history(d, s), alarm: (d) => readOnly.alarm(d), saveAlarm: () => {}, close: () => {} }, ['003'], 9);
  readOnly.close();
  t.deepEqual(checked, [['degraded', '2026-03-05']]);
});

test('a store that cannot be written (a full disk): the alarm and its date are kept in memory and saved once it can be; one error line, every failure counted', (t) => {
  const { logger, lines } = captureLogger();
  const store = new MemoryHistoryStore();
  let full = true;
  const fail = () => {
    if (full) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  };
  const flaky: HistoryStore = {
    append: (d, sample) => (fail(), store.append(d, sample)),
    history: (d, s) => store.history(d, s),
    alarm: (d) => store.alarm(d),
    saveAlarm: (d, alarm) => (fail(), store.saveAlarm(d, alarm)),
    close: () => {},
  };
  let now = T0;
  const service = new PredictionService(flaky, logger, () => now);
  const first = service.onSmartReading(round('002', now));
  now += DAY;
  const second = service.onSmartReading(round('002', now));
  t.truthy(first.disks[0]!.replaceBy);
  t.is(second.disks[0]!.replaceBy, first.disks[0]!.replaceBy);
  t.deepEqual(lines().map((l) => l.msg), ['cannot save disk history (is the state directory full or read-only?); predictions go on from what is saved']);
  t.is(second.historyWriteErrors, 4, 'two samples and the alarm twice (unchanged, but not yet saved)');
  t.is(store.alarm(second.disks[0]!.disk), undefined, 'nothing saved yet');
  full = false;
  now += DAY;
  const third = service.onSmartReading(round('002', now));
  t.is(third.historyWriteErrors, 4);
  t.is(replaceByDate(store.alarm(third.disks[0]!.disk)), first.disks[0]!.replaceBy, 'saved once the store could take it');
});
