import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import Database from 'better-sqlite3';
import { CLI, startAgent } from '../helpers/agent.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { subscribe, type Received } from '../helpers/mqtt-subscriber.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { requireTool, waitFor } from '../helpers/tools.js';

const run = promisify(execFile);
const base = (stateDir: string, replay: string, url: string) => [
  '--config',
  repoPath('examples/harbinger.yml'),
  '--no-collector.host',
  '--no-collector.pressure',
  '--state-dir',
  stateDir,
  '--smart.replay',
  replay,
  '--mqtt.url',
  url,
  '--mqtt.host',
  'db1',
  // The replayed disks are not this host's: their roles stay unknown, whatever this host has.
  '--no-collector.storage',
];
const FAST = ['--collector.smart.interval', '1s', '--collector.smart.timeout', '1s'];
const status = (messages: Received[]) => messages.filter((m) => m.topic === 'harbinger/v1/db1/status').map((m) => m.json);

test('the agent announces itself, publishes disk state and events as the replayed disk fails, and says offline on SIGTERM', async (t) => {
  const broker = await startMosquitto(t);
  const sub = await subscribe(t, broker.url, 'harbinger/v1/#');
  const agent = await startAgent(t, [...base(await tempDir(t), repoPath('examples/replay'), broker.url), ...FAST]);

  const events = await sub.waitFor('failure predicted, then failing', (m) => {
    const e = m.filter((x) => x.topic.includes('/events/') && !x.topic.endsWith('/balance_changed'));
    return e.some((x) => x.json.data.level === 'failing') ? e : undefined;
  }, 20_000);
  t.deepEqual(
    events.map((e) => [e.topic.replace('harbinger/v1/db1/', ''), e.json.data.previous_level, e.json.data.level]),
    [
      ['events/failure_predicted', 'ok', 'degraded'],
      ['events/level_changed', 'degraded', 'failing'],
    ],
  );
  const [predicted, changed] = events;
  t.like(predicted!.json, { specversion: '1.0', source: 'harbinger://db1', type: 'io.harbinger.disk.failure_predicted.v1', datacontenttype: 'application/json' });
  t.is(predicted!.json.data.device, 'sdb');
  t.is(changed!.json.data.episode_started, predicted!.json.data.episode_started, 'one episode');
  t.true(changed!.json.data.evidence.length > 0);
  // The failing disk drains the host: a host event for the load-balancer decision.
  const drained = await sub.waitFor('the drain', (m) => m.find((x) => x.topic === 'harbinger/v1/db1/events/balance_changed' && x.json.data.state === 'drain'));
  t.like(drained.json, { type: 'io.harbinger.host.balance_changed.v1', subject: 'db1' });
  t.like(drained.json.data, { host: 'db1', weight: 0 });
  t.regex(drained.json.data.reasons[0], /is failing and what it holds is unknown \(.*\): replace it/);
  t.is(drained.json.data.cause, 'harbinger');

  const diskTopics = new Set(sub.messages.filter((m) => m.topic.includes('/disks/')).map((m) => m.topic));
  t.is(diskTopics.size, 3, 'a retained state per disk');
  t.like(status(sub.messages)[0], { state: 'online', host: 'db1' });

  const scrape = await (await fetch(`${agent.url}/metrics`)).text();
  const samples = parseScrape(scrape);
  t.is(sampleValue(samples, 'harbinger_mqtt_connected', {}), 1);
  await waitFor('acks flushed', async () => (sampleValue(parseScrape(await (await fetch(`${agent.url}/metrics`)).text()), 'harbinger_mqtt_outbox_events', {}) === 0 ? true : undefined));
  t.true(sampleValue(samples, 'harbinger_mqtt_events_published_total', {})! >= 2);
  t.is(sampleValue(samples, 'harbinger_mqtt_events_dropped_total', {}), 0);
  const promtool = requireTool('promtool', 'prometheus');
  const metricsFile = join(await tempDir(t), 'scrape.prom');
  await writeFile(metricsFile, scrape);
  const lint = await run('sh', ['-c', `${promtool} check metrics < ${metricsFile}`]).then(
    (r) => r.stdout + r.stderr,
    (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
  );
  t.is(lint.trim(), '', 'promtool finds no problem with the MQTT metrics');
  const health = (await (await fetch(`${agent.url}/health`)).json()) as { mqtt: { connected: boolean } };
  t.true(health.mqtt.connected);

  agent.process.kill('SIGTERM');
  t.is(await agent.exited, 0);
  const offline = await sub.waitFor('offline', (m) => status(m).find((s) => s.state === 'offline'));
  t.like(offline, { state: 'offline', reason: 'shutdown' });
  t.deepEqual(sub.invalid, []);
});

test('kill -9: the broker publishes the Last Will, offline, retained', async (t) => {
  const broker = await startMosquitto(t);
  const agent = await startAgent(t, base(await tempDir(t), repoPath('examples/replay'), broker.url));
  const watcher = await subscribe(t, broker.url, 'harbinger/v1/db1/status');
  await watcher.waitFor('online', (m) => status(m).find((s) => s.state === 'online'));
  agent.process.kill('SIGKILL');
  await agent.exited;
  await watcher.waitFor('the Will', (m) => status(m).find((s) => s.state === 'offline'));
  // A subscriber arriving later finds it retained.
  const late = await subscribe(t, broker.url, 'harbinger/v1/db1/status');
  const will = await late.waitFor('retained offline', (m) => m.find((x) => x.retain));
  t.like(will.json, { state: 'offline', reason: 'connection lost', host: 'db1' });
  t.deepEqual([...watcher.invalid, ...late.invalid], []);
});

/** A replay of `n` disks that are healthy in the first round and failing from the second on. */
async function failingFleet(dir: string, n: number): Promise<void> {
  const healthy = JSON.parse(await readFile(repoPath('examples/replay/sdb/001.json'), 'utf8'));
  const failing = JSON.parse(await readFile(repoPath('examples/replay/sdb/004.json'), 'utf8'));
  for (let i = 0; i < n; i++) {
    const disk = join(dir, `d${String(i).padStart(4, '0')}`);
    await mkdir(disk);
    for (const [name, recording] of [['001.json', healthy], ['002.json', failing]] as const) {
      recording.serial_number = `BURST${i}`;
      recording.wwn = { naa: 5, oui: 3274, id: 1_000_000 + i };
      await writeFile(join(disk, name), JSON.stringify(recording));
    }
  }
}

test('SIGKILL during a burst of 1,000 events: after a restart every event arrives, re-sent ones with the same id', async (t) => {
  // The subscriber gets 1,000 disk states and 1,000 events at once: more than Mosquitto queues for
  // one client by default (max_queued_messages 1000), past which the broker itself drops them.
  const broker = await startMosquitto(t, { extra: 'max_queued_messages 0' });
  const replay = await tempDir(t);
  await failingFleet(replay, 1000);
  const stateDir = await tempDir(t);
  const args = [...base(stateDir, replay, broker.url), '--collector.smart.interval', '5s', '--collector.smart.timeout', '5s'];
  const sub = await subscribe(t, broker.url, 'harbinger/v1/db1/#');
  const first = await startAgent(t, args);
  // Killed as soon as the round that fails every disk shows: its retained states go out just
  // before its 1,000 events, so the kill lands while those are being sent.
  let killed = false;
  await sub.waitFor('the failing round', (m) => {
    if (!killed && m.some((x) => x.topic.includes('/disks/') && x.json?.level === 'failing')) {
      killed = true;
      first.process.kill('SIGKILL');
    }
    return killed ? true : undefined;
  }, 30_000);
  await first.exited;
  const db = new Database(join(stateDir, 'mqtt.sqlite'), { readonly: true });
  const left = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  db.close();
  t.true(left > 0, 'the kill left unacknowledged events in the outbox');

  await startAgent(t, args);
  const events = await sub.waitFor('1,000 distinct events', (m) => {
    const e = m.filter((x) => x.topic.includes('/events/failure_predicted'));
    return new Set(e.map((x) => x.json.id)).size >= 1000 ? e : undefined;
  }, 30_000);
  const payloads = new Map<string, string>();
  for (const e of events) {
    const seen = payloads.get(e.json.id);
    if (seen !== undefined) t.is(seen, e.payload, 'a re-sent event is the same event');
    payloads.set(e.json.id, e.payload);
  }
  t.is(payloads.size, 1000);
  const diskEvents = sub.messages.filter((x) => x.topic.includes('/events/') && !x.topic.endsWith('/balance_changed'));
  t.true(diskEvents.every((e) => e.json.type === 'io.harbinger.disk.failure_predicted.v1'), 'the restart announces nothing new about the disks');
  t.deepEqual(sub.invalid, []);
  t.log(`${left} events left in the outbox by the kill; ${events.length - 1000} duplicates received`);
});

test('an operator drain: one log line, a balance_changed event with cause operator and the reason, kept across a restart; resume is one too', async (t) => {
  const broker = await startMosquitto(t);
  const sub = await subscribe(t, broker.url, 'harbinger/v1/db1/events/balance_changed');
  const stateDir = await tempDir(t);
  const args = [...base(stateDir, repoPath('examples/replay'), broker.url), '--no-collector.smart'];
  const balance = (port: number, ...words: string[]) =>
    run(process.execPath, [CLI, '--state-dir', stateDir, '--web.listen-address', `127.0.0.1:${port}`, 'balance', ...words], { env: { PATH: process.env.PATH ?? '' } });
  // Set while no agent runs (nothing listens on port 1): saved, and said so.
  const saved = await balance(1, 'drain', '--reason', 'replacing the PSU', '--for', '2h');
  t.regex(saved.stdout, /saved/i);
  const agent = await startAgent(t, args);
  const first = (await (await fetch(`${agent.url}/health`)).json()) as { balance: { state: string; decided_by: string; override: { mode: string; reason: string; until: string } } };
  t.like(first.balance, { state: 'drain', decided_by: 'operator', override: { mode: 'drain', reason: 'replacing the PSU' } }, 'in force from the first answer');
  const drained = await sub.waitFor('the operator drain', (m) => m.find((x) => x.json.data.cause === 'operator' && x.json.data.state === 'drain'));
  t.like(drained.json.data, { host: 'db1', state: 'drain', previous_state: 'up', override: { mode: 'drain', reason: 'replacing the PSU', by: 'root' } });
  t.regex(drained.json.data.reasons[0], /^operator drain by root until .*: replacing the PSU$/);
  t.is(agent.logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('operator drain by root')).length, 1);

  const done = await balance(agent.port, 'resume');
  t.regex(done.stdout, /up/, `the command reports what the agent now does: ${done.stdout}`);
  const resumed = await sub.waitFor('the resume', (m) => m.find((x) => x.json.data.cause === 'operator' && x.json.data.state === 'up'));
  t.like(resumed.json.data, { state: 'up', weight: 100, previous_state: 'drain', override: null });
  t.true(agent.logs().some((l) => l.msg === 'operator override ended: harbinger decides'));
  t.deepEqual(sub.invalid, []);
});
