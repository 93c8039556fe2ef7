import { join } from 'node:path';
import test from 'ava';
import ICAL from 'ical.js';
import { startAgent } from '../helpers/agent.js';
import { getJson, startCollector } from '../helpers/fleet.js';
import { ROOT } from '../helpers/fleet-service.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { subscribe, type Received } from '../helpers/mqtt-subscriber.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const agentArgs = (host: string, stateDir: string, brokerUrl: string) => [
  '--config', repoPath('examples/harbinger.yml'),
  '--no-collector.host', '--no-collector.pressure',
  '--collector.smart.interval', '1s', '--collector.smart.timeout', '1s',
  '--smart.replay', repoPath('examples/replay'),
  '--state-dir', stateDir,
  '--mqtt.url', brokerUrl, '--mqtt.host', host,
];
const failingOf = (host: string) => (m: Received[]) => (m.some((e) => e.json?.source === `harbinger://${host}` && e.json.data.level === 'failing') ? true : undefined);
const eventIds = async (url: string) => ((await getJson(`${url}/api/events?limit=1000`)).events as Array<{ id: string }>).map((e) => e.id).sort();

test('one collector on SQLite: the fleet, the schedule as iCalendar; SIGTERM stops it cleanly, and a restart loses nothing', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  const watcher = await subscribe(t, broker.url, `${ROOT}/+/events/#`);
  const stateDir = await tempDir(t);
  const collectorArgs = (clientId: string) => ['--config', repoPath('examples/harbinger.yml'), '--state-dir', stateDir, '--mqtt.url', broker.url, '--mqtt.reconnect-max-backoff', '2s', '--fleet.client-id', clientId];
  const first = await startCollector(t, collectorArgs('fleet-sqlite'));
  const db1 = await startAgent(t, agentArgs('db1', await tempDir(t), broker.url));
  await watcher.waitFor('db1 failing', failingOf('db1'), 20_000);
  const allStored = (url: string) => async () => (JSON.stringify(await eventIds(url)) === JSON.stringify(watcher.events().map((e) => e.json.id as string).sort()) ? true : undefined);
  await waitFor('db1 events stored', allStored(first.url));

  const schedule = await getJson(`${first.url}/api/maintenance`);
  t.like(schedule.disks[0], { host: 'db1', host_state: 'online', device: 'sdb', model: 'Hitachi HDS721050DLE630', level: 'failing' });
  t.is(schedule.disks.length, 1);
  const ics = await (await fetch(`${first.url}/maintenance.ics`)).text();
  const [event, ...others] = new ICAL.Component(ICAL.parse(ics)).getAllSubcomponents('vevent');
  t.is(others.length, 0);
  t.is(event!.getFirstPropertyValue('summary'), 'Replace disk Hitachi HDS721050DLE630 MSK423Y20S3HBC on db1 (failing)');
  t.is(String(event!.getFirstPropertyValue('dtend')), addDay(schedule.disks[0].replace_by), 'the window ends with the replace-by day');

  // A clean stop within the deadline; the agent stops too and says so.
  const stopAt = Date.now();
  first.process.kill('SIGTERM');
  t.is(await first.exited, 0);
  t.true(Date.now() - stopAt < 3000, 'stopped within 3 s');
  db1.process.kill('SIGTERM');
  t.is(await db1.exited, 0);
  // While the collector is away: a new host comes up and its disk fails.
  await startAgent(t, agentArgs('db2', await tempDir(t), broker.url));
  await watcher.waitFor('db2 failing', failingOf('db2'), 20_000);

  const again = await startCollector(t, collectorArgs('fleet-sqlite'));
  await waitFor('every event stored, once', allStored(again.url));
  const fleet = await waitFor('both hosts', async () => {
    const f = await getJson(`${again.url}/api/fleet`);
    return f.hosts.length === 2 && f.hosts[1].disks.length === 3 ? f : undefined;
  });
  t.like(fleet.hosts[0], { host: 'db1', state: 'offline', reason: 'shutdown' });
  t.like(fleet.hosts[1], { host: 'db2', state: 'online' });
  t.deepEqual((await getJson(`${again.url}/api/maintenance`)).disks.map((d: any) => [d.host, d.level]), [['db1', 'failing'], ['db2', 'failing']]);

  // A collector on a fresh, empty store rebuilds the current state from the retained messages.
  const fresh = await startCollector(t, [...collectorArgs('fleet-fresh'), '--fleet.store.path', join(await tempDir(t), 'new.sqlite')]);
  const rebuilt = await waitFor('the state from retained messages', async () => {
    const f = await getJson(`${fresh.url}/api/fleet`);
    return f.summary.disks.failing === 2 && f.summary.hosts.offline === 1 ? f : undefined;
  });
  t.deepEqual(rebuilt.summary, fleet.summary);
  t.deepEqual(watcher.invalid, []);
});

function addDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
