import test from 'ava';
import { nextAlarm, RECOVERY_DAYS, replaceByDate, replaceWithinDays, type AlarmReading, type AlarmState } from '../../src/predict/replace-by.js';
import type { RiskLevel } from '../../src/predict/types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 1, 6);
const CUTS = { degraded: 0.04 };

/** The alarm after each reading in turn; returns every state. */
function replay(readings: ReadonlyArray<[day: number, level: RiskLevel, probability: number, serial?: string]>): Array<AlarmState | undefined> {
  let alarm: AlarmState | undefined;
  return readings.map(([day, level, probability, serial]) => {
    const reading: AlarmReading = { atMs: T0 + day * DAY, level, probability, ...(serial !== undefined ? { serial } : {}) };
    alarm = nextAlarm(alarm, reading, CUTS);
    return alarm;
  });
}
const dueDay = (alarm: AlarmState | undefined): number | undefined => (alarm === undefined ? undefined : (alarm.replaceByMs - T0) / DAY);

test('how far away: 10 days at the cut, sooner as the probability rises (at least 2), the next day when failing; none below the alarm', (t) => {
  t.is(replaceWithinDays('degraded', 0.04, CUTS), 10);
  t.is(replaceWithinDays('degraded', 0.05, CUTS), 8);
  t.is(replaceWithinDays('degraded', 0.08, CUTS), 5);
  t.is(replaceWithinDays('degraded', 0.4, CUTS), 2);
  t.is(replaceWithinDays('failing', 0.9, CUTS), 1);
  t.is(replaceWithinDays('watch', 0.03, CUTS), undefined);
  t.is(replaceWithinDays('ok', 0.001, CUTS), undefined);
});

test('a disk that stays degraded at the same probability keeps the date of its first alarm, also once it has passed', (t) => {
  const states = replay(Array.from({ length: 15 }, (_, day) => [day, 'degraded', 0.04] as const));
  t.deepEqual(states.map(dueDay), Array(15).fill(10));
  t.is(states[14]!.sinceMs, T0);
  t.is(replaceByDate(states[14]), new Date(T0 + 10 * DAY).toISOString().slice(0, 10));
  t.is(states[3], states[2], 'nothing changed: the same state (not saved again)');
});

test('the date moves nearer as the disk gets worse, never further when it gets better', (t) => {
  const states = replay([
    [0, 'degraded', 0.04],
    [1, 'degraded', 0.08], // 1 + 5 = day 6
    [2, 'degraded', 0.05], // 2 + 8 = day 10: later, ignored
    [3, 'failing', 0.7], // 3 + 1 = day 4
    [4, 'degraded', 0.04],
  ]);
  t.deepEqual(states.map(dueDay), [10, 6, 6, 4, 4]);
});

test(`a dip below the alarm shorter than ${RECOVERY_DAYS} days keeps the alarm and its date; ${RECOVERY_DAYS} days below end it`, (t) => {
  const states = replay([
    [0, 'degraded', 0.04],
    [1, 'watch', 0.03],
    [6, 'watch', 0.03],
    [7, 'degraded', 0.04],
    [8, 'ok', 0.01],
    [15, 'ok', 0.01],
    [16, 'degraded', 0.04],
  ]);
  t.deepEqual(states.map(dueDay), [10, 10, 10, 10, 10, undefined, 26]);
  t.is(states[1]!.belowSinceMs, T0 + DAY);
  t.is(states[2]!.belowSinceMs, T0 + DAY, 'below since the first reading below');
  t.is(states[3]!.belowSinceMs, undefined, 'back in the alarm');
  t.is(replaceByDate(states[1]), replaceByDate(states[0]), 'the date stands while below the alarm');
  t.is(replaceByDate(states[5]), undefined, 'none once the alarm is over');
  t.is(states[6]!.sinceMs, T0 + 16 * DAY, 'a new alarm');
  // Back at the alarm 7 days after the dip began, without a reading in between: a new alarm too.
  t.deepEqual(replay([[0, 'degraded', 0.04], [1, 'watch', 0.03], [8, 'degraded', 0.04]]).map(dueDay), [10, 10, 18]);
});

test('another drive behind the same id (a new serial) starts its own alarm; a reading without a serial does not', (t) => {
  const states = replay([
    [0, 'degraded', 0.04, 'OLD'],
    [1, 'degraded', 0.04],
    [2, 'degraded', 0.04, 'NEW'],
  ]);
  t.deepEqual(states.map(dueDay), [10, 10, 12]);
  t.is(states[2]!.serial, 'NEW');
});

test('below the alarm without one: nothing', (t) => {
  t.deepEqual(replay([[0, 'ok', 0.001], [1, 'watch', 0.03]]), [undefined, undefined]);
});
