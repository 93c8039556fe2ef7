import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import bcrypt from 'bcryptjs';
import type { FleetStoreSettings } from '../../src/fleet/settings.js';
import { loadWebConfig } from '../../src/web/webconfig.js';
import { getJson, fleetDatabase } from '../helpers/fleet.js';
import { payloads, publisher, ROOT, startFleet } from '../helpers/fleet-service.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { repoPath, tempDir, writeTemp } from '../helpers/tmp.js';
import { requireTool, waitFor } from '../helpers/tools.js';

const postgres = sharedPostgres(test);
const sqlite = async (t: Parameters<typeof tempDir>[0]): Promise<FleetStoreSettings> => ({ driver: 'sqlite', path: join(await tempDir(t), 'fleet.sqlite') });
const scrape = async (url: string) => parseScrape(await (await fetch(`${url}/metrics`)).text());
const eventCount = async (url: string) => ((await getJson(`${url}/api/events?limit=1000`)) as { events: unknown[] }).events.length;

test('retained state and events become the fleet: a re-sent event is stored once, a cleared disk is gone, the Will makes a host offline', async (t) => {
  const broker = await startMosquitto(t);
  const fleet = await startFleet(t, broker.url, await sqlite(t));
  const pub = await publisher(t, broker.url);
  await pub.publish(`${ROOT}/db1/status`, payloads.status('db1', 'online'), true);
  await pub.publish(`${ROOT}/db1/disks/wwn-1`, payloads.disk('db1', 'wwn-1', 'degraded'), true);
  await pub.publish(`${ROOT}/db1/disks/wwn-2`, payloads.disk('db1', 'wwn-2', 'ok'), true);
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'aaaa'));
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'aaaa'));
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'bbbb'));
  await pub.client.publishAsync(`${ROOT}/db1/events/level_changed`, JSON.stringify(payloads.event('db1', 'qos0', 'failing')), { qos: 0 });

  await waitFor('three events (one of them sent with QoS 0)', async () => ((await eventCount(fleet.url)) === 3 ? true : undefined));
  const samples = await waitFor('four events processed', async () => {
    const s = await scrape(fleet.url);
    return sampleValue(s, 'harbinger_fleet_events_processed_total') === 4 ? s : undefined;
  });
  t.is(sampleValue(samples, 'harbinger_fleet_events_deduplicated_total'), 1);
  const api = await getJson(`${fleet.url}/api/fleet`);
  t.like(api.hosts[0], { host: 'db1', state: 'online', version: '0.1.0', boot: 1 });
  t.deepEqual(
    api.hosts[0].disks.map((d: any) => [d.disk, d.level]),
    [
      ['wwn-1', 'degraded'],
      ['wwn-2', 'ok'],
    ],
  );
  const maintenance = await getJson(`${fleet.url}/api/maintenance`);
  t.deepEqual(maintenance.disks.map((d: any) => [d.host, d.disk, d.replace_by]), [['db1', 'wwn-1', '2026-12-08']]);

  await pub.publish(`${ROOT}/db1/disks/wwn-2`, '', true);
  await pub.publish(`${ROOT}/db1/status`, payloads.status('db1', 'offline'), true);
  const after = await waitFor('disk gone, host offline', async () => {
    const f = await getJson(`${fleet.url}/api/fleet`);
    return f.hosts[0].state === 'offline' && f.hosts[0].disks.length === 1 ? f : undefined;
  });
  t.is(after.hosts[0].reason, 'connection lost');
  t.deepEqual(after.summary, { hosts: { online: 0, offline: 1, unknown: 0 }, disks: { ok: 0, watch: 0, degraded: 1, failing: 0 } });
  t.like(fleet.collector.health(), { status: 'ok', mqtt_connected: true, store: { driver: 'sqlite', up: true } });
});

test('invalid messages are counted, logged once per host, acknowledged and not sent again', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  const store = await sqlite(t);
  const clientId = 'fleet-invalid';
  const first = await startFleet(t, broker.url, store, { clientId });
  const pub = await publisher(t, broker.url);
  await pub.publish(`${ROOT}/db9/events/failure_predicted`, 'not json');
  await pub.publish(`${ROOT}/db9/events/failure_predicted`, { ...payloads.event('db9', 'cccc'), source: 'harbinger://db1' });
  await pub.publish(`${ROOT}/db9/disks/wwn-1`, { ...payloads.disk('db9', 'wwn-1', 'failing'), level: 'doomed' }, true);
  await pub.publish(`${ROOT}/db9/events/failure_predicted`, payloads.event('db9', 'dddd'));
  const samples = await waitFor('the valid event', async () => {
    const s = await scrape(first.url);
    return sampleValue(s, 'harbinger_fleet_events_processed_total') === 1 ? s : undefined;
  });
  t.is(sampleValue(samples, 'harbinger_fleet_invalid_messages_total', { kind: 'event' }), 2);
  t.is(sampleValue(samples, 'harbinger_fleet_invalid_messages_total', { kind: 'disk' }), 1);
  const warnings = first.logs().filter((l) => String(l.msg).startsWith('invalid message ignored'));
  t.is(warnings.length, 1, 'one line per host, then only counted');
  t.like(warnings[0], { host: 'db9', reason: 'payload is not JSON' });
  t.true((await first.collector.health()).status === 'ok', 'a bad payload does not make the collector unhealthy');

  // Restarted with the same session: only the retained (still invalid) disk state comes again.
  await first.stop();
  const second = await startFleet(t, broker.url, store, { clientId });
  await waitFor('the retained disk state again', async () =>
    sampleValue(await scrape(second.url), 'harbinger_fleet_invalid_messages_total', { kind: 'disk' }) === 1 ? true : undefined,
  );
  t.is(sampleValue(await scrape(second.url), 'harbinger_fleet_invalid_messages_total', { kind: 'event' }), 0, 'refused events were acknowledged: not redelivered');
  t.is(await eventCount(second.url), 1);
});

test('a persistent session: events published while the collector is stopped are stored when it returns', async (t) => {
  const broker = await startMosquitto(t, { persistence: true });
  const store = await sqlite(t);
  const first = await startFleet(t, broker.url, store, { clientId: 'fleet-persistent' });
  const pub = await publisher(t, broker.url);
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'e1'));
  await waitFor('e1', async () => ((await eventCount(first.url)) === 1 ? true : undefined));
  await first.stop();
  for (const id of ['e2', 'e3', 'e4']) await pub.publish(`${ROOT}/db1/events/level_changed`, payloads.event('db1', id));
  // The broker itself restarts too (persistence: the queued messages survive it).
  await broker.stop();
  await broker.start();
  const again = await startFleet(t, broker.url, store, { clientId: 'fleet-persistent' });
  await waitFor('e2-e4 delivered on return', async () => ((await eventCount(again.url)) === 4 ? true : undefined));
  t.true(again.logs().some((l) => l.msg === 'connected to the MQTT broker; session resumed'));
  t.is(sampleValue(await scrape(again.url), 'harbinger_fleet_events_deduplicated_total'), 0);
});

test('postgres down: the message is not acknowledged, the broker sends it again, and it is stored once the store is back', async (t) => {
  const server = await postgres();
  const db = await fleetDatabase(t, server);
  const broker = await startMosquitto(t);
  const fleet = await startFleet(t, broker.url, { driver: 'postgres', dsn: db.dsn, password: db.password });
  const pub = await publisher(t, broker.url);
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'before'));
  await waitFor('the first event', async () => ((await eventCount(fleet.url)) === 1 ? true : undefined));

  await server.stop();
  t.teardown(() => server.start()); // the server is shared by this file's tests
  await pub.publish(`${ROOT}/db1/events/failure_predicted`, payloads.event('db1', 'during'));
  await waitFor('a store error', async () => (fleet.collector.health().status === 'degraded' ? true : undefined));
  const errors = sampleValue(await scrape(fleet.url), 'harbinger_fleet_store_errors_total')!;
  t.true(errors >= 1);
  t.is(fleet.logs().filter((l) => String(l.msg).startsWith('cannot write to the fleet store')).length, 1, 'one line per outage');
  t.is((await fetch(`${fleet.url}/api/fleet`)).status, 503, 'pages say the store is unavailable');

  await server.start();
  await waitFor('the redelivered event stored', async () => ((await eventCount(fleet.url).catch(() => 0)) === 2 ? true : undefined), 20_000);
  const samples = await scrape(fleet.url);
  t.is(sampleValue(samples, 'harbinger_fleet_events_processed_total'), 2, 'stored once, on redelivery');
  t.is(sampleValue(samples, 'harbinger_fleet_store_up'), 1);
  t.true(fleet.logs().some((l) => l.msg === 'the fleet store works again'));
});

test('HTTP: the page escapes agent text; ics and csv have their types; bad requests are refused; promtool passes the scrape', async (t) => {
  const broker = await startMosquitto(t);
  const fleet = await startFleet(t, broker.url, await sqlite(t));
  const pub = await publisher(t, broker.url);
  await pub.publish(`${ROOT}/db1/disks/wwn-1`, payloads.disk('db1', 'wwn-1', 'failing', undefined, { model: '<script>alert(1)</script>' }), true);
  await waitFor('the disk', async () => ((await getJson(`${fleet.url}/api/maintenance`)).disks.length === 1 ? true : undefined));

  const page = await fetch(`${fleet.url}/`);
  t.is(page.headers.get('content-type'), 'text/html; charset=utf-8');
  const html = await page.text();
  t.false(html.includes('<script>'));
  t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  t.true(html.includes('href="maintenance.ics"'));
  const ics = await fetch(`${fleet.url}/maintenance.ics`);
  t.is(ics.headers.get('content-type'), 'text/calendar; charset=utf-8');
  t.regex((await ics.text()).replace(/\r\n[ \t]/g, ''), /\r\nSUMMARY:Replace disk <script>alert\(1\)<\/script> SER-db1-wwn-1 on db1 \(failing\)\r\n/, 'unfolded');
  const csv = await fetch(`${fleet.url}/maintenance.csv`);
  t.regex(csv.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
  t.regex(await csv.text(), /^replace_by,host,host_state,disk,[^\n]*\r\n2026-12-05,db1,unknown,wwn-1,/);
  t.is((await fetch(`${fleet.url}/api/events?limit=0`)).status, 400);
  t.is((await fetch(`${fleet.url}/api/events?limit=abc`)).status, 400);
  t.is((await fetch(`${fleet.url}/nope`)).status, 404);
  t.is((await fetch(`${fleet.url}/api/fleet`, { method: 'POST' })).status, 405);
  const head = await fetch(`${fleet.url}/api/fleet`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');

  const promtool = requireTool('promtool', 'prometheus');
  const text = await (await fetch(`${fleet.url}/metrics`)).text();
  t.true(text.includes('harbinger_fleet_disks{level="failing"} 1'));
  const lint = await new Promise<string>((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], (_err, stdout, stderr) => resolve(stdout + stderr));
    child.stdin!.end(text);
  });
  t.is(lint.trim(), '', 'promtool finds no problem');
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!).filter((f) => !/^harbinger_(process|nodejs)_/.test(f));
  t.true(families.length >= 11);
  for (const family of families) t.true(readme.includes(`| \`${family}\``), `README's metrics tables miss ${family}`);
});

test('fleet.web_config_file: basic auth guards every path', async (t) => {
  const broker = await startMosquitto(t);
  const hash = await bcrypt.hash('fleet-secret', 4);
  const web = await loadWebConfig(await writeTemp(t, 'web.yml', `basic_auth_users:\n  ops: ${hash}\n`));
  const fleet = await startFleet(t, broker.url, await sqlite(t), { web });
  t.is((await fetch(`${fleet.url}/maintenance.ics`)).status, 401);
  const auth = { Authorization: `Basic ${Buffer.from('ops:fleet-secret').toString('base64')}` };
  t.is((await fetch(`${fleet.url}/maintenance.ics`, { headers: auth })).status, 200);
  t.is((await fetch(`${fleet.url}/metrics`, { headers: auth })).status, 200);
});
