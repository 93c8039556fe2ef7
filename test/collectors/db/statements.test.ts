import test from 'ava';
import type { StatementCounters } from '../../../src/collectors/db/driver.js';
import { StatementTracker } from '../../../src/collectors/db/statements.js';

const row = (digest: string, calls: number, seconds: number, database = 'app', user = 'web'): StatementCounters => ({ digest, database, user, calls, seconds });

test('the first reading gives nothing; the second gives per-interval calls, mean and rate', (t) => {
  const tracker = new StatementTracker();
  t.is(tracker.update([row('a', 100, 10), row('b', 5, 0.5)], 1_000, 10), undefined);
  const w = tracker.update([row('a', 130, 13), row('b', 5, 0.5), row('c', 10, 4)], 11_000, 10)!;
  t.is(w.windowSeconds, 10);
  t.deepEqual(
    w.top.map((s) => [s.digest, s.calls, s.seconds, s.meanSeconds, s.callsPerSecond]),
    [
      ['c', 10, 4, 0.4, 1], // new since the last reading: all its calls are in the window
      ['a', 30, 3, 0.1, 3],
    ],
    'ordered by time in the window; b did not run',
  );
  t.deepEqual(w.total, { calls: 40, seconds: 7, callsPerSecond: 4, meanSeconds: 7 / 40 });
});

test('top-K bounds the statements; the totals still count all of them', (t) => {
  const tracker = new StatementTracker();
  const many = (calls: number) => Array.from({ length: 50 }, (_, i) => row(`d${i}`, calls * (i + 1), calls * (i + 1) * 0.001 * (i + 1)));
  tracker.update(many(1), 0, 3);
  const w = tracker.update(many(2), 15_000, 3)!;
  t.deepEqual(w.top.map((s) => s.digest), ['d49', 'd48', 'd47']);
  t.is(w.total.calls, (50 * 51) / 2);
});

test('a counter that went down was reset or evicted: what it has now counts, never a negative delta', (t) => {
  const tracker = new StatementTracker();
  tracker.update([row('a', 1000, 100), row('b', 10, 1)], 0, 10);
  const w = tracker.update([row('a', 7, 0.7), row('b', 12, 1.2)], 10_000, 10)!;
  const a = w.top.find((s) => s.digest === 'a')!;
  t.is(a.calls, 7);
  t.true(Math.abs(a.seconds - 0.7) < 1e-12);
  t.true(w.top.every((s) => s.calls > 0 && s.seconds >= 0));
});

test('the same digest for two users or databases is two statements; hidden rows count only in the totals', (t) => {
  const tracker = new StatementTracker();
  tracker.update([row('q', 1, 1, 'app', 'web'), row('q', 1, 1, 'app', 'batch'), row('', 1, 1)], 0, 10);
  const w = tracker.update([row('q', 3, 1.2, 'app', 'web'), row('q', 11, 6, 'app', 'batch'), row('', 101, 11)], 5_000, 10)!;
  t.deepEqual(
    w.top.map((s) => [s.user, s.calls]),
    [
      ['batch', 10],
      ['web', 2],
    ],
  );
  t.is(w.total.calls, 112);
});

test('an idle server: no top statements, totals of zero without a mean', (t) => {
  const tracker = new StatementTracker();
  tracker.update([row('a', 5, 1)], 0, 10);
  const w = tracker.update([row('a', 5, 1)], 15_000, 10)!;
  t.deepEqual(w.top, []);
  t.deepEqual(w.total, { calls: 0, seconds: 0, callsPerSecond: 0 });
});
