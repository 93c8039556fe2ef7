import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { Outbox } from '../../src/mqtt/outbox.js';
import type { DiskTrack } from '../../src/mqtt/disk-tracker.js';
import { fixtureArgs, startAgent } from '../helpers/agent.js';
import { checkServes, damagedCopies, damagePages } from '../helpers/damage.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';

const agentArgs = (stateDir: string, url: string) => [...fixtureArgs(), '--state-dir', stateDir, '--mqtt.url', url, '--mqtt.host', 'db1'];

/** An outbox of 300 undelivered events and two disk tracks, closed: several pages. */
function fillOutbox(dir: string): void {
  const outbox = Outbox.open(dir, 10_000);
  const events = Array.from({ length: 300 }, (_, i) => ({ id: `e${i}`, topic: 'harbinger/v1/db1/events/level_changed', subject: 'sda', payload: JSON.stringify({ n: i, pad: 'x'.repeat(200) }) }));
  const tracks = ['sda', 'sdb'].map((disk) => ({ disk, published: 'ok' }) as unknown as DiskTrack);
  outbox.add(events, tracks);
  outbox.setRetained('harbinger/v1/db1/disks/sda', '{}');
  outbox.nextBoot();
  outbox.close();
}

test('an outbox with damaged pages is moved aside, counted and logged; the agent starts afresh and serves', async (t) => {
  const broker = await startMosquitto(t);
  const dir = await tempDir(t);
  fillOutbox(dir);
  damagePages(join(dir, 'mqtt.sqlite'));

  const agent = await startAgent(t, agentArgs(dir, broker.url));
  await checkServes(t, agent, 'mqtt.sqlite', 1);
  const [copy, ...others] = damagedCopies(dir, 'mqtt.sqlite');
  t.deepEqual(others, [], 'the damaged file alone (its -wal and -shm went with it on close)');
  t.regex(copy!, /^mqtt\.sqlite\.damaged-\d{4}-\d\d-\d\dT\d\d[:-]\d\d[:-]\d\d(\.\d+)?Z$/);
  t.true(existsSync(join(dir, 'mqtt.sqlite')), 'a fresh outbox');
  const line = agent.logs().find((l) => l.msg === 'the MQTT outbox is damaged: moved aside and started afresh; events not yet delivered are lost');
  t.truthy(line, JSON.stringify(agent.logs()));
  t.like(line, { level: 'error', file: join(dir, 'mqtt.sqlite'), damagedCopy: join(dir, copy!), lost: 'MQTT events not yet delivered, and what had been announced per disk' });
  t.regex(String(line!.found), /malformed|corrupt|not a database|page|tree/i);
  const health = (await (await fetch(`${agent.url}/health`)).json()) as { mqtt?: { outbox_durable?: boolean } };
  t.is(health.mqtt?.outbox_durable, true, 'on disk again, not in memory');
});

test('an outbox that is not a database (garbage) is moved aside too; an empty one is simply used', async (t) => {
  const broker = await startMosquitto(t);
  const garbage = await tempDir(t);
  await writeFile(join(garbage, 'mqtt.sqlite'), 'this is not a database, not even close '.repeat(200));
  const agent = await startAgent(t, agentArgs(garbage, broker.url));
  await checkServes(t, agent, 'mqtt.sqlite', 1);
  t.is(damagedCopies(garbage, 'mqtt.sqlite').length, 1);

  const empty = await tempDir(t);
  await writeFile(join(empty, 'mqtt.sqlite'), '');
  const second = await startAgent(t, agentArgs(empty, broker.url));
  await checkServes(t, second, 'mqtt.sqlite', 0);
  t.deepEqual(damagedCopies(empty, 'mqtt.sqlite'), []);
});

test('damage a later query finds (the file went bad after the open) is not fatal: moved aside once, reported, and the outbox carries on', async (t) => {
  const dir = await tempDir(t);
  fillOutbox(dir);
  const file = join(dir, 'mqtt.sqlite');
  damagePages(file);
  const reports: unknown[] = [];
  // The constructor alone does not check the file: the damage is found by the queries.
  const outbox = new Outbox(file, 10_000, (d) => reports.push(d));
  t.teardown(() => outbox.close());
  t.is(outbox.after(0, 500).length, 0, 'the damaged events are gone');
  t.is(reports.length, 1);
  t.like(reports[0], { file, damagedCopy: join(dir, damagedCopies(dir, 'mqtt.sqlite')[0]!) });
  t.false(outbox.volatile, 'a fresh file, not memory');
  outbox.add([{ id: 'new', topic: 't', subject: 's', payload: '{}' }]);
  t.deepEqual(outbox.after(0, 10).map((e) => e.id), ['new']);
  t.is(outbox.nextBoot(), 1);
  t.is(reports.length, 1, 'reported once');
  t.is(damagedCopies(dir, 'mqtt.sqlite').length, 1);
});
