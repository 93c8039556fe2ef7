#!/usr/bin/env node
// MQTT delivery against a local Mosquitto (QoS 1, the outbox fsynced in the state directory):
//   - drain: events/s from the outbox to the broker after an outage (N events queued while the
//     broker is down, then timed from the connection until the broker has acknowledged them all
//     and the outbox is empty);
//   - latency: from the moment the predictor's decision reaches the MQTT service (which commits it
//     to the outbox, fsync included) to its arrival at a subscriber in another process, p50/p99,
//     one event every 10 ms with the broker up.
//
//   npm run build && node scripts/bench-mqtt.mjs [--events 20000] [--samples 2000]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, quantile, root, start, stopAll } from './bench-lib.mjs';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, samples: { type: 'string', default: '2000' } } });
const EVENTS = Number(values.events);
const SAMPLES = Number(values.samples);

const { MqttService } = await import(join(root, 'dist/src/mqtt/service.js'));
const { loadConfig } = await import(join(root, 'dist/src/config/load.js'));
const { COLLECTORS } = await import(join(root, 'dist/src/collectors/index.js'));
const { createLogger } = await import(join(root, 'dist/src/logger.js'));

const mosquitto = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find(existsSync);
if (!mosquitto) {
  console.error('mosquitto is not installed: apt-get install mosquitto');
  process.exit(1);
}
const work = await mkdtemp(join(tmpdir(), 'harbinger-bench-mqtt-'));
const port = await freePort();
const conf = join(work, 'mosquitto.conf');
await writeFile(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 0', ...(process.getuid?.() === 0 ? ['user root'] : [])].join('\n') + '\n');
let broker;
const startBroker = async () => {
  broker = start('mosquitto', mosquitto, ['-c', conf]);
  await new Promise((r) => setTimeout(r, 300));
};
const url = `mqtt://127.0.0.1:${port}`;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const waitUntil = async (probe, what, timeoutMs = 120_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
};

/** A subscriber in its own process: prints "<id> <arrival ms>" for every event. */
function subscriber() {
  const code = `
    const mqtt = require(${JSON.stringify(join(root, 'node_modules/mqtt'))});
    const c = mqtt.connect(${JSON.stringify(url)}, { protocolVersion: 5 });
    c.on('connect', () => c.subscribe('harbinger/v1/+/events/#', { qos: 1 }, () => process.stdout.write('ready\\n')));
    c.on('message', (topic, payload) => {
      const at = performance.timeOrigin + performance.now();
      process.stdout.write(JSON.parse(payload).id + ' ' + at + '\\n');
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const arrivals = new Map();
  let ready = false;
  let buffer = '';
  child.stdout.on('data', (d) => {
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop();
    for (const line of lines) {
      if (line === 'ready') ready = true;
      else {
        const [id, at] = line.split(' ');
        if (!arrivals.has(id)) arrivals.set(id, Number(at));
      }
    }
  });
  return { child, arrivals, ready: () => ready };
}

const settings = (await loadConfig({ collectors: COLLECTORS, env: { HARBINGER_MQTT_URL: url, HARBINGER_MQTT_HOST: 'bench', HARBINGER_MQTT_EVENTS_SETTLE: '0s', HARBINGER_MQTT_OUTBOX_MAX_EVENTS: String(EVENTS * 2) } })).mqtt;
const logger = createLogger('warn');
const disk = (name, level, atMs) => ({ disk: name, device: `/dev/${name}`, protocol: 'ata', level, probability: level === 'ok' ? 0.01 : 0.6, horizonDays: 30, evidence: [], readingAtMs: atMs });

// 1. Drain after an outage.
const stateDir = join(work, 'state');
const service = new MqttService(settings, { logger, version: 'bench', stateDir, startedAtMs: Date.now(), now: Date.now });
service.start(); // the broker is not up yet: events accumulate
const disks = Array.from({ length: 1000 }, (_, i) => `d${i}`);
const rounds = Math.ceil(EVENTS / disks.length);
const t0 = Date.parse('2026-01-01T00:00:00Z');
for (let r = 0; r < rounds; r++) {
  service.onPredictions({ disks: disks.map((d) => disk(d, r % 2 === 0 ? 'degraded' : 'ok', t0 + r * 3_600_000)), historyWriteErrors: 0 });
}
const queued = service.status().outboxDepth;
await startBroker();
await waitUntil(() => service.status().connected, 'the connection');
const drainStart = now();
await waitUntil(() => service.status().outboxDepth === 0, 'the outbox to drain');
const drainMs = now() - drainStart;

// 2. Decision-to-subscriber latency with the broker up.
const sub = subscriber();
await waitUntil(sub.ready, 'the subscriber');
const decided = new Map();
const before = service.status().eventsPublished;
for (let i = 0; i < SAMPLES; i++) {
  const level = i % 2 === 0 ? 'failing' : 'ok';
  const at = t0 + (rounds + i) * 3_600_000;
  const marker = now();
  service.onPredictions({ disks: [disk('latency', level, at)], historyWriteErrors: 0 });
  decided.set(i, marker);
  await sleep(10);
}
await waitUntil(() => service.status().eventsPublished - before >= SAMPLES && sub.arrivals.size >= SAMPLES, 'the latency events');
// Arrivals in publish order pair with decisions in order (one event per decision, one disk).
const arrivalTimes = [...sub.arrivals.values()];
const latencies = arrivalTimes.map((at, i) => at - decided.get(i)).sort((a, b) => a - b);

await service.stop();
sub.child.kill();
stopAll();
await rm(work, { recursive: true, force: true });

console.log(`drain after an outage: ${queued} events in ${drainMs.toFixed(0)} ms = ${Math.round((queued / drainMs) * 1000)} events/s (QoS 1, outbox on ${tmpdir()})`);
console.log(`decision → subscriber (broker up, ${SAMPLES} events, one per 10 ms): p50 ${quantile(latencies, 0.5).toFixed(2)} ms, p99 ${quantile(latencies, 0.99).toFixed(2)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`);
process.exit(0);
