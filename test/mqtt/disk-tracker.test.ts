import test from 'ava';
import { trackDisks, type DiskTrack } from '../../src/mqtt/disk-tracker.js';
import { eventId } from '../../src/mqtt/events.js';
import type { RiskLevel } from '../../src/predict/types.js';
import { prediction } from '../helpers/predictions.js';

const HOUR = 3_600_000;
const SETTLE = 24 * HOUR;

/** Feeds one disk's levels, one reading per hour, and returns the kinds of events decided. */
function run(levels: RiskLevel[], settleMs = SETTLE) {
  let tracks = new Map<string, DiskTrack>();
  const decided: Array<{ kind: string; level: RiskLevel; at: number; identity: readonly (string | number)[] }> = [];
  levels.forEach((level, i) => {
    const at = i * HOUR;
    const result = trackDisks(tracks, [prediction('sda', level, at)], at, settleMs);
    for (const d of result.decisions) decided.push({ kind: d.kind, level: d.level, at, identity: d.identity });
    tracks = new Map(tracks);
    for (const t of result.changed) tracks.set(t.disk, t);
  });
  return { decided, tracks };
}

test('a rise is announced at once: failure predicted, then level changed within the episode', (t) => {
  const { decided } = run(['ok', 'ok', 'degraded', 'failing']);
  t.deepEqual(
    decided.map((d) => [d.kind, d.level, d.at / HOUR]),
    [
      ['failure_predicted', 'degraded', 2],
      ['level_changed', 'failing', 3],
    ],
  );
  t.deepEqual(decided[0]!.identity, [2 * HOUR, 0], 'the episode is named by its start');
  t.deepEqual(decided[1]!.identity, [2 * HOUR, 1]);
});

test('hovering at a threshold gives one event, not one per reading', (t) => {
  const hovering: RiskLevel[] = [];
  for (let i = 0; i < 40; i++) hovering.push(i % 2 === 0 ? 'degraded' : 'watch');
  const { decided } = run(hovering);
  t.deepEqual(
    decided.map((d) => d.kind),
    ['failure_predicted'],
  );
});

test('a fall is announced only after the lower level has held for the settle time', (t) => {
  const levels: RiskLevel[] = ['failing', ...Array<RiskLevel>(30).fill('ok')];
  const { decided } = run(levels);
  t.deepEqual(
    decided.map((d) => [d.kind, d.level, d.at / HOUR]),
    [
      ['failure_predicted', 'failing', 0],
      ['cleared', 'ok', 25],
    ],
  );
});

test('after a fall, the highest level seen while settling is what is announced', (t) => {
  // failing, then a day of ok with one degraded reading in it: the day settles to degraded, and
  // only a further day of ok clears the disk.
  const levels: RiskLevel[] = ['failing', ...Array<RiskLevel>(10).fill('ok'), 'degraded', ...Array<RiskLevel>(40).fill('ok')];
  const { decided } = run(levels);
  t.deepEqual(
    decided.map((d) => [d.kind, d.level, d.at / HOUR]),
    [
      ['failure_predicted', 'failing', 0],
      ['level_changed', 'degraded', 25],
      ['cleared', 'ok', 50],
    ],
  );
});

test('a new disk starts quietly unless already at risk', (t) => {
  t.deepEqual(run(['watch']).decided, []);
  t.deepEqual(
    run(['failing']).decided.map((d) => d.kind),
    ['failure_predicted'],
  );
  t.is(run(['watch']).tracks.get('sda')?.published, 'watch');
});

test('an at-risk disk swapped for a new one in the same slot is cleared as replaced; one that vanishes as removed', (t) => {
  const tracks = new Map<string, DiskTrack>([
    ['old-a', { disk: 'old-a', device: '/dev/sda', published: 'failing', episode: { startMs: 5, step: 1 } }],
    ['old-b', { disk: 'old-b', device: '/dev/sdb', published: 'degraded', episode: { startMs: 7, step: 1 } }],
    ['fine', { disk: 'fine', device: '/dev/sdc', published: 'ok' }],
  ]);
  const result = trackDisks(tracks, [prediction('new-a', 'ok', 100, { device: '/dev/sda' })], 100, SETTLE);
  const cleared = result.decisions.map((d) => [d.disk, d.kind, d.reason]);
  t.deepEqual(cleared, [
    ['old-a', 'cleared', 'replaced'],
    ['old-b', 'cleared', 'removed'],
  ]);
  t.deepEqual(
    result.removed.map((r) => r.disk),
    ['old-a', 'old-b', 'fine'],
    'every gone disk loses its retained state; only at-risk ones get an event',
  );
});

test('event ids are deterministic per (host, disk, kind, episode, step) and differ otherwise', (t) => {
  const a = eventId('db1', 'sda', 'failure_predicted', [1000, 0]);
  t.is(a, eventId('db1', 'sda', 'failure_predicted', [1000, 0]));
  t.regex(a, /^[0-9a-f]{32}$/);
  t.not(a, eventId('db2', 'sda', 'failure_predicted', [1000, 0]));
  t.not(a, eventId('db1', 'sdb', 'failure_predicted', [1000, 0]));
  t.not(a, eventId('db1', 'sda', 'level_changed', [1000, 0]));
  t.not(a, eventId('db1', 'sda', 'failure_predicted', [1001, 0]));
  t.not(a, eventId('db1', 'sda', 'failure_predicted', [1000, 1]));
});
