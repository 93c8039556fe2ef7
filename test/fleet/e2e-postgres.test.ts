import { randomBytes } from 'node:crypto';
import test from 'ava';
import { startAgent } from '../helpers/agent.js';
import { fleetDatabase, getJson, startCollector, type RunningCollector } from '../helpers/fleet.js';
import { payloads, publisher, ROOT } from '../helpers/fleet-service.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { subscribe, type Received } from '../helpers/mqtt-subscriber.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const postgres = sharedPostgres(test);

const agentArgs = (host: string, stateDir: string, brokerUrl: string) => [
  '--config', repoPath('examples/harbinger.yml'),
  '--no-collector.host', '--no-collector.pressure',
  '--collector.smart.interval', '1s', '--collector.smart.timeout', '1s',
  '--smart.replay', repoPath('examples/replay'),
  '--state-dir', stateDir,
  '--mqtt.url', brokerUrl, '--mqtt.host', host,
];

/** What this collector stored itself: events it handled less those it found already stored. */
async function storedBy(c: RunningCollector): Promise<number> {
  const samples = parseScrape(await (await fetch(`${c.url}/metrics`)).text());
  return sampleValue(samples, 'harbinger_fleet_events_processed_total')! - sampleValue(samples, 'harbinger_fleet_events_deduplicated_total')!;
}

const ids = (events: Received[]) => new Set(events.map((e) => `${e.json.source} ${e.json.id}`));
const failingOf = (host: string) => (m: Received[]) => (m.some((e) => e.json?.source === `harbinger://${host}` && e.json.data.level === 'failing') ? true : undefined);

test('two agents, two collectors sharing one PostgreSQL store on one shared subscription: each event stored once; a killed collector loses nothing', async (t) => {
  const server = await postgres();
  const db = await fleetDatabase(t, server);
  const broker = await startMosquitto(t, { persistence: true });
  // The truth: every event the agents (and the test) publish, seen by a plain subscriber.
  const watcher = await subscribe(t, broker.url, `${ROOT}/+/events/#`);
  const stateDir = await tempDir(t);
  const collectorArgs = (clientId: string) => [
    '--config', repoPath('examples/harbinger.yml'),
    '--state-dir', stateDir,
    '--mqtt.url', broker.url, '--mqtt.reconnect-max-backoff', '2s',
    '--fleet.client-id', clientId,
    '--fleet.store.driver', 'postgres', '--fleet.store.dsn', db.dsn, '--fleet.store.password-file', db.passwordFile,
  ];
  const a = await startCollector(t, collectorArgs('fleet-a'));
  const bFirst = await startCollector(t, collectorArgs('fleet-b'));
  /** The stored (source, id)s once they are exactly the ones the watcher saw published, each once. */
  const allStored = async () => {
    const stored = (await storedRows()).sort();
    return JSON.stringify(stored) === JSON.stringify([...ids(watcher.events())].sort()) ? stored : undefined;
  };
  const storedRows = async () => (await server.query<{ source: string; id: string }>('SELECT source, id FROM events', [], db.dsn.split('/').pop())).map((r) => `${r.source} ${r.id}`);

  await startAgent(t, agentArgs('db1', await tempDir(t), broker.url));
  await watcher.waitFor('db1 failing', failingOf('db1'), 20_000);

  // A burst with re-sent events, as an agent resends after a crash: 60 events, 20 of them twice.
  const pub = await publisher(t, broker.url);
  const burst = Array.from({ length: 60 }, () => randomBytes(16).toString('hex'));
  for (const id of [...burst, ...burst.slice(0, 20)]) await pub.publish(`${ROOT}/db3/events/failure_predicted`, payloads.event('db3', id));
  await waitFor('every event so far stored', allStored, 20_000);
  const [fromA, fromB] = [await storedBy(a), await storedBy(bFirst)];
  t.true(fromA > 0 && fromB > 0, `the group shares the events (a stored ${fromA}, b stored ${fromB})`);

  // Collector b dies; db2 comes up and fails while it is gone.
  bFirst.process.kill('SIGKILL');
  await bFirst.exited;
  await startAgent(t, agentArgs('db2', await tempDir(t), broker.url));
  await watcher.waitFor('db2 failing', failingOf('db2'), 20_000);
  const b = await startCollector(t, collectorArgs('fleet-b'));

  const rows = await waitFor('the stored events to be exactly the published ones', allStored, 20_000);
  for (const host of ['db1', 'db2']) {
    const kinds = watcher.events().filter((e) => e.json.source === `harbinger://${host}`).map((e) => e.topic.split('/').pop());
    t.true(kinds.includes('failure_predicted') && kinds.includes('level_changed'), `${host} announced its failing disk: ${kinds.join(', ')}`);
  }
  t.is(watcher.events().filter((e) => e.json.source === 'harbinger://db3').length, 80, 'the burst: 60 events, 20 of them sent twice');
  await waitFor('the counters to settle', async () => ((await storedBy(a)) + fromB + (await storedBy(b)) === rows.length ? true : undefined));
  // Mosquitto shares a group's messages round-robin over its sessions, connected or not: some of
  // db2's events were queued for b's session while b was dead, and b stored them when it returned.
  t.true((await storedBy(b)) >= 1, 'the restarted collector received what was queued for it');

  for (const c of [a, b]) {
    const fleet = await getJson(`${c.url}/api/fleet`);
    const hosts = Object.fromEntries(fleet.hosts.map((h: any) => [h.host, h]));
    t.like(hosts.db1, { state: 'online', version: '0.1.0' });
    t.like(hosts.db2, { state: 'online', version: '0.1.0' });
    t.is(hosts.db1.disks.length, 3);
    t.is(hosts.db2.disks.length, 3);
    const maintenance = await getJson(`${c.url}/api/maintenance`);
    const listed = maintenance.disks.map((d: any) => [d.host, d.device, d.level, d.replace_by]);
    t.deepEqual(listed.map((d: string[]) => d.slice(0, 3)), [['db1', 'sdb', 'failing'], ['db2', 'sdb', 'failing']]);
    t.true(listed[0][3] <= listed[1][3], 'in replace-by order');
  }
  for (const c of [a, b]) t.false(`${JSON.stringify(c.logs())}${c.stderr()}`.includes(db.password), 'the store password is never logged');
  t.deepEqual(watcher.invalid, []);
});
