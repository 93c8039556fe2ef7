import test, { type ExecutionContext } from 'ava';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { Aedes } from 'aedes';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { COLLECTORS } from '../../src/collectors/index.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/problems.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { connected, mqttSettings, startService } from '../helpers/mqtt-service.js';
import { subscribe } from '../helpers/mqtt-subscriber.js';
import { pki } from '../helpers/pki.js';
import { tempDir, writeTemp } from '../helpers/tmp.js';
import { freePort } from '../helpers/tools.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('TLS with a test CA and password authentication: connects, publishes, verifies the broker', async (t) => {
  const certs = await pki(t);
  const broker = await startMosquitto(t, {
    users: { harbinger: 'agent-secret', reader: 'reader-secret' },
    tls: { ca: join(certs.dir, 'ca.crt'), cert: join(certs.dir, 'server.crt'), key: join(certs.dir, 'server.key') },
  });
  t.regex(broker.url, /^mqtts:/);
  const passwordFile = await writeTemp(t, 'mqtt-password', 'agent-secret\n');
  const agent = await startService(
    t,
    await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_USERNAME: 'harbinger', HARBINGER_MQTT_PASSWORD_FILE: passwordFile, HARBINGER_MQTT_TLS_CA: join(certs.dir, 'ca.crt') }),
  );
  await connected(agent);
  const sub = await subscribe(t, broker.url, 'harbinger/v1/#', { username: 'reader', password: 'reader-secret', ca: await certs.pem('ca.crt') });
  agent.round({ sda: 'failing' }, T0);
  const event = await sub.waitFor('the event over TLS', (m) => m.find((x) => x.topic.endsWith('/events/failure_predicted')));
  t.like(event.json, { source: 'harbinger://db1', subject: 'sda', type: 'io.harbinger.disk.failure_predicted.v1' });
  t.deepEqual(sub.invalid, []);
  t.false(JSON.stringify(agent.logs()).includes('agent-secret'), 'the password is never logged');
});

test('a broker certificate from another CA is refused, with a TLS reason and a line that says what to check', async (t) => {
  const certs = await pki(t);
  const broker = await startMosquitto(t, { tls: { ca: join(certs.dir, 'ca.crt'), cert: join(certs.dir, 'server.crt'), key: join(certs.dir, 'server.key') } });
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_TLS_CA: join(certs.dir, 'rogue.crt') }));
  await sleep(1500);
  t.false(agent.status().connected);
  t.true((agent.status().connectErrors.tls ?? 0) >= 1);
  const line = agent.logs().find((l) => l.reason === 'tls');
  t.regex(String(line?.msg), /TLS with the broker .* failed .*mqtt\.tls\.ca/);
});

test('a wrong password: one clear log line, counted as auth, retried with backoff rather than a tight loop', async (t) => {
  const broker = await startMosquitto(t, { users: { harbinger: 'right' } });
  const passwordFile = await writeTemp(t, 'mqtt-password', 'wrong\n');
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_USERNAME: 'harbinger', HARBINGER_MQTT_PASSWORD_FILE: passwordFile }));
  await sleep(4000);
  const attempts = agent.status().connectErrors.auth ?? 0;
  // Backoff 1 s, 2 s (±20%): attempts near 0, 1 and 3 s. A tight loop would make hundreds.
  t.true(attempts >= 2 && attempts <= 4, `${attempts} attempts in 4 s`);
  const lines = agent.logs().filter((l) => Number(l.level) >= 40);
  t.is(lines.length, 1, JSON.stringify(lines));
  t.regex(String(lines[0]!.msg), /refused the credentials .*mqtt\.username, mqtt\.password_file/);
  t.is(lines[0]!.reason, 'auth');
  t.false(JSON.stringify(agent.logs()).includes('wrong'), 'the password is never logged');
});

/**
 * Aedes, a real broker without MQTT 5: Mosquitto cannot be limited to 3.1.1, and Debian's
 * Mosquitto 2.0.11 fails to open a WebSockets listener here, so both are tested against it.
 */
async function aedesBroker(t: ExecutionContext, transport: 'tcp' | 'ws'): Promise<string> {
  const aedes = await Aedes.createBroker();
  const port = await freePort();
  if (transport === 'tcp') {
    const server = createServer(aedes.handle);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))));
    return `mqtt://127.0.0.1:${port}`;
  }
  const server = new WebSocketServer({ host: '127.0.0.1', port });
  server.on('connection', (socket) => aedes.handle(createWebSocketStream(socket) as never));
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => new Promise<void>((resolve) => aedes.close(() => server.close(() => resolve()))));
  return `ws://127.0.0.1:${port}`;
}

test('a broker that only speaks MQTT 3.1.1: the agent falls back and delivers', async (t) => {
  const url = await aedesBroker(t, 'tcp');
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: url }));
  await connected(agent);
  t.is(agent.status().protocolVersion, 4);
  t.true(agent.logs().some((l) => /does not speak MQTT 5/.test(String(l.msg))));
  const sub = await subscribe(t, url, 'harbinger/v1/#', { protocolVersion: 4 });
  agent.round({ sda: 'degraded' }, T0);
  const event = await sub.waitFor('the event', (m) => m.find((x) => x.topic.endsWith('/events/failure_predicted')));
  t.is(event.json.data.level, 'degraded');
  t.deepEqual(sub.invalid, []);
});

test('mqtt.protocol 3.1.1 against Mosquitto: connects as 3.1.1 and delivers', async (t) => {
  const broker = await startMosquitto(t);
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_PROTOCOL: '3.1.1' }));
  await connected(agent);
  t.is(agent.status().protocolVersion, 4);
  const sub = await subscribe(t, broker.url, 'harbinger/v1/#');
  agent.round({ sda: 'degraded' }, T0);
  await sub.waitFor('the event', (m) => m.find((x) => x.topic.endsWith('/events/failure_predicted')));
  t.deepEqual(sub.invalid, []);
});

test('MQTT settings are checked at load: every problem named with its key and source', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'harbinger.yml');
  await writeFile(
    file,
    ['mqtt:', '  url: "http://broker:1883"', '  password_file: /nonexistent/password', '  tls:', '    cert: /nonexistent/cert.pem', '  outbox:', '    max_events: 0', ''].join('\n'),
  );
  const err = await t.throwsAsync(loadConfig({ collectors: COLLECTORS, configFile: file, env: {} }), { instanceOf: ConfigError });
  const messages = (err as ConfigError).problems.map((p) => `${p.key} @${p.source}:${p.line ?? '-'}: ${p.message}`);
  t.true(messages.some((m) => /^mqtt\.outbox\.max_events @.*harbinger\.yml:7/.test(m)), messages.join('\n'));
  t.is((await loadConfig({ collectors: COLLECTORS, env: {} })).mqtt, undefined, 'no URL: MQTT is off');

  await writeFile(file, ['mqtt:', '  url: "http://broker:1883"', '  password_file: /nonexistent/password', '  tls:', '    cert: /nonexistent/cert.pem', ''].join('\n'));
  const second = await t.throwsAsync(loadConfig({ collectors: COLLECTORS, configFile: file, env: {} }), { instanceOf: ConfigError });
  const text = (second as ConfigError).message;
  t.regex(text, /harbinger\.yml:2:\d+: mqtt\.url: must start with mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//);
  t.regex(text, /harbinger\.yml:3:\d+: mqtt\.password_file: cannot read \/nonexistent\/password: ENOENT/);
  t.regex(text, /mqtt\.password_file: is set but mqtt\.username is not/);
  t.regex(text, /mqtt\.tls\.cert: cannot read \/nonexistent\/cert\.pem/);

  const inUrl = await t.throwsAsync(loadConfig({ collectors: COLLECTORS, env: { HARBINGER_MQTT_URL: 'mqtt://u:p@broker:1883' } }), { instanceOf: ConfigError });
  t.regex(inUrl!.message, /env HARBINGER_MQTT_URL: mqtt\.url: must not contain a user name or password/);
  const plain = await t.throwsAsync(loadConfig({ collectors: COLLECTORS, env: { HARBINGER_MQTT_URL: 'mqtt://broker:1883', HARBINGER_MQTT_TLS_SERVER_NAME: 'broker' } }), {
    instanceOf: ConfigError,
  });
  t.regex(plain!.message, /the URL is not mqtts:\/\/ or wss:\/\//);
});

test('MQTT over WebSockets (ws://): connects and delivers', async (t) => {
  const url = await aedesBroker(t, 'ws');
  const agent = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: url }));
  await connected(agent);
  const sub = await subscribe(t, url, 'harbinger/v1/#', { protocolVersion: 4 });
  agent.round({ sda: 'degraded' }, T0);
  const event = await sub.waitFor('the event', (m) => m.find((x) => x.topic.endsWith('/events/failure_predicted')));
  t.is(event.json.source, 'harbinger://db1');
  t.deepEqual(sub.invalid, []);
});

test('a broker that requires client certificates: the agent presents mqtt.tls.cert and key; without them it is refused', async (t) => {
  const certs = await pki(t);
  const broker = await startMosquitto(t, {
    tls: { ca: join(certs.dir, 'ca.crt'), cert: join(certs.dir, 'server.crt'), key: join(certs.dir, 'server.key') },
    extra: 'require_certificate true',
  });
  const ca = join(certs.dir, 'ca.crt');
  const withCert = await startService(
    t,
    await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_TLS_CA: ca, HARBINGER_MQTT_TLS_CERT: join(certs.dir, 'client.crt'), HARBINGER_MQTT_TLS_KEY: join(certs.dir, 'client.key') }),
  );
  await connected(withCert);
  const without = await startService(t, await mqttSettings({ HARBINGER_MQTT_URL: broker.url, HARBINGER_MQTT_HOST: 'db2', HARBINGER_MQTT_TLS_CA: ca }));
  await sleep(1500);
  t.false(without.status().connected);
  t.is(without.status().connectErrors.auth ?? 0, 0, 'not a password problem');
  t.true(withCert.status().connected);
  t.true((without.status().connectErrors.tls ?? 0) >= 1);
  const line = without.logs().find((l) => Number(l.level) >= 40);
  t.regex(String(line?.msg), /did not accept a client certificate .*set mqtt\.tls\.cert and mqtt\.tls\.key/);
});
