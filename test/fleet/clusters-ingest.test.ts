import { execFile } from 'node:child_process';
import test from 'ava';
import { requireTool } from '../helpers/tools.js';
import { balanceReportJson, type BalanceReport } from '../../src/protocol/balance-report.js';
import { getJson } from '../helpers/fleet.js';
import { publisher, ROOT, startFleet } from '../helpers/fleet-service.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/tools.js';

const report = (host: string, fields: Partial<BalanceReport> = {}): BalanceReport => ({
  host,
  cluster: 'web',
  capacity: 1,
  timeMs: Date.now(),
  reportIntervalSeconds: 30,
  state: 'up',
  weight: 100,
  reasons: [],
  sinceMs: Date.now(),
  decidedBy: 'harbinger',
  own: { state: 'up', weight: 100, reasons: [] },
  override: null,
  load: { cpuUtilization: 0.25, cores: 4, databases: [] },
  ...fields,
});

test('a hostile balance report is refused and counted, never a crash; valid reports still make the cluster and its failover figure', async (t) => {
  const broker = await startMosquitto(t);
  const fleet = await startFleet(t, broker.url, { driver: 'sqlite', path: ':memory:' }, { clusterGraceMs: 0 });
  const mqtt = await publisher(t, broker.url);
  const hostile: Array<[string, unknown]> = [
    ['db1', 'not json'],
    ['db1', { ...balanceReportJson(report('db1')), host: 'db2' }],
    ['db1', { ...balanceReportJson(report('db1')), capacity: -1 }],
    ['db1', { ...balanceReportJson(report('db1')), cluster: 'a/b' }],
    ['db1', { ...balanceReportJson(report('db1')), load: { cpu_utilization: 7, cores: 1, pressure: null, databases: [] } }],
    ['db1', { ...balanceReportJson(report('db1')), request: { id: 'x', since: 'yesterday' } }],
    ['db1', 'x'.repeat(100_000)],
  ];
  for (const [host, payload] of hostile) await mqtt.publish(`${ROOT}/${host}/balance`, payload, true);
  const invalid = async () => sampleValue(parseScrape(await (await fetch(`${fleet.url}/metrics`)).text()), 'harbinger_fleet_invalid_messages_total', { kind: 'balance' });
  await waitFor('every hostile report refused', async () => ((await invalid()) === hostile.length ? true : undefined));
  t.deepEqual((await getJson(`${fleet.url}/api/clusters`)).clusters, []);
  t.is(fleet.logs().filter((l) => String(l.msg).startsWith('invalid message ignored') && l.host === 'db1').length, 1, 'logged once per host');

  // Three members at 25% CPU: losing one puts the others at 25% + 25%/2 = 37.5%.
  for (const host of ['db1', 'db2', 'db3']) await mqtt.publish(`${ROOT}/${host}/balance`, balanceReportJson(report(host)), true);
  const cluster = await waitFor('the cluster', async () => {
    const c = (await getJson(`${fleet.url}/api/clusters`)).clusters.find((x: any) => x.cluster === 'web');
    return c?.members.length === 3 ? c : undefined;
  });
  t.is(cluster.failover.utilization_ratio, 0.375);
  const metricsText = await (await fetch(`${fleet.url}/metrics`)).text();
  const metrics = parseScrape(metricsText);
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_failover_utilization_ratio', { cluster: 'web' }), 0.375);
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_members', { cluster: 'web', state: 'up' }), 3);
  t.true(fleet.collector.health().mqtt_connected);
  // The cluster gauges pass promtool.
  const promtool = requireTool('promtool', 'prometheus');
  const lint = await new Promise<string>((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], (_err, stdout, stderr) => resolve(stdout + stderr));
    child.stdin!.end(metricsText);
  });
  t.is(lint.trim(), '', 'promtool finds no problem');

  // The fleet page shows the cluster, and what an agent sends is escaped there.
  await mqtt.publish(`${ROOT}/<i>db4&/balance`, balanceReportJson(report('<i>db4&', { reasons: ['<script>alert(1)</script>'] })), true);
  const page = await waitFor('the page with db4', async () => {
    const html = await (await fetch(`${fleet.url}/`)).text();
    return html.includes('db4') ? html : undefined;
  });
  t.regex(page, /<h2>Clusters \(1\)<\/h2>/);
  t.true(page.includes('&lt;i&gt;db4&amp;') && page.includes('&lt;script&gt;'));
  t.false(page.includes('<script>'));
  await mqtt.publish(`${ROOT}/<i>db4&/balance`, '', true);

  // A cleared report takes the host out of the cluster.
  await mqtt.publish(`${ROOT}/db3/balance`, '', true);
  await waitFor('db3 gone', async () => ((await getJson(`${fleet.url}/api/clusters`)).clusters[0].members.length === 2 ? true : undefined));
  const two = (await getJson(`${fleet.url}/api/clusters`)).clusters[0];
  t.is(two.failover.utilization_ratio, 0.5, 'two members: losing one puts the other at 25% + 25%');
});
