import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { SqliteHistoryStore } from '../../src/predict/history-store.js';
import { fixtureArgs, startAgent } from '../helpers/agent.js';
import { checkServes, damagedCopies, damagePages } from '../helpers/damage.js';
import { tempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);

test('a history with damaged pages is moved aside, counted and logged; the agent starts afresh and serves', async (t) => {
  const dir = await tempDir(t);
  const store = SqliteHistoryStore.open(dir);
  for (let day = 0; day < 150; day++) for (const disk of ['wwn-0x5000c500a1b2c3d4', 'wwn-0x5000c500a1b2c3d5']) store.append(disk, { atMs: T0 + day * DAY, protocol: 'ata', pendingSectors: day, reallocatedSectors: day });
  store.saveAlarm('wwn-0x5000c500a1b2c3d4', { since: '2026-06-01', replaceBy: '2026-07-01' } as never);
  store.close();
  damagePages(join(dir, 'history.sqlite'));

  const agent = await startAgent(t, [...fixtureArgs(), '--state-dir', dir]);
  await checkServes(t, agent, 'history.sqlite', 1);
  const [copy, ...others] = damagedCopies(dir, 'history.sqlite');
  t.deepEqual(others, []);
  t.regex(copy!, /^history\.sqlite\.damaged-/);
  t.true(existsSync(join(dir, 'history.sqlite')), 'a fresh history');
  const line = agent.logs().find((l) => l.msg === 'the disk history is damaged: moved aside and started afresh; predictions start again without history');
  t.truthy(line, JSON.stringify(agent.logs()));
  t.like(line, { level: 'error', file: join(dir, 'history.sqlite'), damagedCopy: join(dir, copy!), lost: 'the daily SMART samples of every disk and their open alarms (replace-by dates)' });
  t.false(agent.logs().some((l) => /cannot use the state directory/.test(String(l.msg))), 'on disk, not in memory');
});

test('a history that is not a database (garbage) is moved aside too; an empty one is simply used', async (t) => {
  const garbage = await tempDir(t);
  await writeFile(join(garbage, 'history.sqlite'), 'garbage, not a database '.repeat(400));
  const agent = await startAgent(t, [...fixtureArgs(), '--state-dir', garbage]);
  await checkServes(t, agent, 'history.sqlite', 1);
  t.is(damagedCopies(garbage, 'history.sqlite').length, 1);

  const empty = await tempDir(t);
  await writeFile(join(empty, 'history.sqlite'), '');
  const second = await startAgent(t, [...fixtureArgs(), '--state-dir', empty]);
  await checkServes(t, second, 'history.sqlite', 0);
  t.deepEqual(damagedCopies(empty, 'history.sqlite'), []);
});

test('damage a later query finds is not fatal: moved aside once, reported, and the store carries on', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'history.sqlite');
  const writer = SqliteHistoryStore.open(dir);
  for (let day = 0; day < 150; day++) writer.append('d1', { atMs: T0 + day * DAY, protocol: 'ata', pendingSectors: day });
  writer.close();
  damagePages(file);
  const reports: unknown[] = [];
  const store = new SqliteHistoryStore(file, { onDamaged: (d) => reports.push(d) });
  t.teardown(() => store.close());
  t.deepEqual(store.history('d1', 0), []);
  t.is(reports.length, 1);
  t.like(reports[0], { file, damagedCopy: join(dir, damagedCopies(dir, 'history.sqlite')[0]!) });
  store.append('d1', { atMs: T0 + 200 * DAY, protocol: 'ata', pendingSectors: 1 });
  t.is(store.history('d1', 0).length, 1);
  t.is(reports.length, 1, 'reported once');
});
