import test, { type ExecutionContext } from 'ava';
import type { RiskLevel } from '../../src/predict/types.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { allAt, connected, disconnected, diskNames, mqttSettings, startService } from '../helpers/mqtt-service.js';
import { subscribe, type Received, type Subscriber } from '../helpers/mqtt-subscriber.js';
import { tempDir } from '../helpers/tmp.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

/**
 * Checks a received event stream: duplicates carry identical payloads, and per disk the events
 * (first copies) arrive in the order they were decided (reading times rise). Returns unique ids.
 */
function checkStream(t: ExecutionContext, events: Received[]): Set<string> {
  const byId = new Map<string, string>();
  const lastReading = new Map<string, string>();
  let outOfOrder = 0;
  let mismatched = 0;
  for (const e of events) {
    const seen = byId.get(e.json.id);
    if (seen !== undefined) {
      if (seen !== e.payload) mismatched++;
      continue;
    }
    byId.set(e.json.id, e.payload);
    const previous = lastReading.get(e.json.subject);
    if (previous !== undefined && previous >= e.json.data.reading_time) outOfOrder++;
    lastReading.set(e.json.subject, e.json.data.reading_time);
  }
  t.is(mismatched, 0, 'a duplicate is the same event: same id, same payload');
  t.is(outOfOrder, 0, 'per disk, events arrive in the order they were decided');
  return new Set(byId.keys());
}

/** Ten rounds of 100 disks flipping between degraded and ok (settle 0): 1,000 events. */
function produceThousand(round: (levels: Record<string, RiskLevel>, atMs: number) => void): void {
  const disks = diskNames(100);
  for (let r = 0; r < 10; r++) round(allAt(disks, r % 2 === 0 ? 'degraded' : 'ok'), T0 + r * HOUR);
}

async function persistentSubscriber(t: ExecutionContext, url: string): Promise<Subscriber> {
  // A persistent session on a persistent broker: nothing published while it reconnects is missed.
  return subscribe(t, url, 'harbinger/v1/#', { clean: false, clientId: `sub-${Math.random().toString(16).slice(2)}`, properties: { sessionExpiryInterval: 600 } });
}

test('broker stopped while 1,000 events are produced: all arrive after it returns, in order, no id lost', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_EVENTS_SETTLE: '0s' }));
  const sub = await persistentSubscriber(t, broker.url);
  await connected(agent);

  await broker.stop();
  await disconnected(agent);
  produceThousand(agent.round);
  t.is(agent.status().outboxDepth, 1000, 'every event waits in the outbox');

  await broker.start();
  const events = await sub.waitFor('1,000 events', (m) => {
    const e = m.filter((x) => x.topic.includes('/events/'));
    return new Set(e.map((x) => x.json.id)).size >= 1000 ? e : undefined;
  }, 30_000);
  t.is(checkStream(t, events).size, 1000);
  t.deepEqual(sub.invalid, [], 'every message matches its JSON Schema');
  t.is(agent.status().eventsDropped, 0);
  await sub.waitFor('the outbox to empty', () => (agent.status().outboxDepth === 0 ? true : undefined));
  const kinds = new Set(events.map((e) => e.topic.split('/').pop()));
  t.deepEqual([...kinds].sort(), ['cleared', 'failure_predicted']);
  const problems = agent.logs().filter((l) => Number(l.level) >= 40);
  t.is(problems.length, 1, 'one log line for the whole outage, however many reconnection attempts');
  t.regex(String(problems[0]?.msg), /lost the connection to the broker .*events wait in the outbox/);
});

test('outbox bound: overflow drops the oldest, counts them, logs once and keeps running', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_EVENTS_SETTLE: '0s', HARBINGER_MQTT_OUTBOX_MAX_EVENTS: '100' }));
  const sub = await persistentSubscriber(t, broker.url);
  await connected(agent);
  await broker.stop();
  await disconnected(agent);

  const disks = diskNames(100);
  agent.round(allAt(disks, 'degraded'), T0);
  agent.round(allAt(disks, 'ok'), T0 + HOUR);
  agent.round(allAt(disks, 'degraded'), T0 + 2 * HOUR);
  const status = agent.status();
  t.is(status.outboxDepth, 100);
  t.is(status.eventsDropped, 200);
  t.is(agent.logs().filter((l) => /outbox full/.test(String(l.msg))).length, 1);

  await broker.start();
  const events = await sub.waitFor('the 100 newest events', (m) => {
    const e = m.filter((x) => x.topic.includes('/events/'));
    return e.length >= 100 ? e : undefined;
  }, 20_000);
  t.true(events.every((e) => e.json.data.reading_time === new Date(T0 + 2 * HOUR).toISOString()), 'the newest survived');
  checkStream(t, events);
  t.deepEqual(sub.invalid, []);
});

test('retained: birth, a state per disk, cleared when the disk goes, all republished after the broker forgets', async (t) => {
  const broker = await startMosquitto(t);
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url }));
  await connected(agent);
  agent.round({ sda: 'ok', sdb: 'degraded' }, T0);

  const first = await subscribe(t, broker.url, 'harbinger/v1/db1/#');
  const retained = await first.waitFor('status and two disks', (m) => {
    const r = m.filter((x) => x.retain);
    return r.length >= 3 ? r : undefined;
  });
  const status = retained.find((m) => m.topic === 'harbinger/v1/db1/status')!;
  t.like(status.json, { state: 'online', host: 'db1', version: '0.0.0-test', boot: 1 });
  const sdb = retained.find((m) => m.topic === 'harbinger/v1/db1/disks/sdb')!;
  t.like(sdb.json, { disk: 'sdb', level: 'degraded', predicted_level: 'degraded', device: '/dev/sdb' });
  t.truthy(sdb.json.episode_started);

  agent.round({ sda: 'ok' }, T0 + HOUR); // sdb is gone
  await first.waitFor('sdb cleared', (m) => (m.some((x) => x.topic.endsWith('/disks/sdb') && x.payload === '') ? true : undefined));
  const removal = await first.waitFor('a cleared event', (m) => m.find((x) => x.topic.endsWith('/events/cleared')));
  t.like(removal.json.data, { disk: 'sdb', reason: 'removed' });

  // A broker restarted without persistence has forgotten every retained message.
  await broker.stop();
  await broker.start();
  await connected(agent, 15_000);
  const second = await subscribe(t, broker.url, 'harbinger/v1/db1/#');
  const again = await second.waitFor('status and sda retained again', (m) => {
    const r = m.filter((x) => x.retain);
    return r.some((x) => x.topic.endsWith('/status')) && r.some((x) => x.topic.endsWith('/disks/sda')) ? r : undefined;
  });
  t.false(again.some((x) => x.topic.endsWith('/disks/sdb') && x.payload !== ''), 'the gone disk is not brought back');
  t.deepEqual([...first.invalid, ...second.invalid], []);
});

test('a restart continues where the last run stopped: no event repeated, the boot number rises', async (t) => {
  const broker = await startMosquitto(t);
  const stateDir = await tempDir(t);
  const settings = await mqttSettings({ HARBINGER_MQTT_URL: broker.url });
  const sub = await subscribe(t, broker.url, 'harbinger/v1/#');

  const first = await startService(t, settings, stateDir);
  await connected(first);
  first.round({ sda: 'degraded' }, T0);
  await sub.waitFor('failure predicted', (m) => m.find((x) => x.topic.endsWith('/events/failure_predicted')));
  await first.service.stop();

  const second = await startService(t, settings, stateDir);
  await connected(second);
  second.round({ sda: 'degraded' }, T0 + HOUR);
  second.round({ sda: 'failing' }, T0 + 2 * HOUR);
  const changed = await sub.waitFor('level changed', (m) => m.find((x) => x.topic.endsWith('/events/level_changed')));
  t.like(changed.json.data, { level: 'failing', previous_level: 'degraded', episode_started: new Date(T0).toISOString() });
  t.is(sub.events().filter((e) => e.topic.endsWith('/failure_predicted')).length, 1, 'the same episode is not announced twice');
  const boots = sub.messages.filter((m) => m.topic.endsWith('/status') && m.json?.state === 'online').map((m) => m.json.boot);
  t.deepEqual(boots, [1, 2]);
  t.deepEqual(sub.invalid, []);
});
