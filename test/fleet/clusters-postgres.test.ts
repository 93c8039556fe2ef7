import test from 'ava';
import { balanceReportJson, type BalanceReport } from '../../src/protocol/balance-report.js';
import { requestId } from '../../src/balance/drain-request.js';
import { fleetDatabase, getJson, openStore } from '../helpers/fleet.js';
import { publisher, ROOT, startFleet } from '../helpers/fleet-service.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { subscribe } from '../helpers/mqtt-subscriber.js';
import { sharedPostgres } from '../helpers/postgres.js';
import { waitFor } from '../helpers/tools.js';

const postgres = sharedPostgres(test);
const CLUSTER = 'orders';
const BUDGET = 3;
const HOSTS = Array.from({ length: 20 }, (_, i) => `orders-db${String(i + 1).padStart(2, '0')}`);

/** A member at 10% CPU whose data disk is failing (the drive's own verdict), asking to drain. */
function asking(host: string, nowMs: number): BalanceReport {
  const reason = `disk wwn-${host} (sdb) is failing and holds database data: replace it`;
  return {
    host,
    cluster: CLUSTER,
    capacity: 1,
    timeMs: nowMs,
    reportIntervalSeconds: 30,
    state: 'up',
    weight: 100,
    reasons: [`waiting for the collector's grant to drain (asked at ${new Date(nowMs).toISOString()})`, reason],
    sinceMs: nowMs,
    decidedBy: 'harbinger',
    own: { state: 'drain', weight: 0, reasons: [reason] },
    override: null,
    request: { id: requestId(host, nowMs), sinceMs: nowMs, verdict: 'drive', level: 'failing', reason, disks: [`wwn-${host}`] },
    load: { cpuUtilization: 0.1, cores: 8, databases: [{ target: 'pg', latencySeconds: 0.002, connections: 20, maxConnections: 200 }] },
  };
}

test('two collectors sharing one PostgreSQL store, 20 hosts of one cluster asking at the same moment: never more grants than the budget, each said once', async (t) => {
  const server = await postgres();
  const db = await fleetDatabase(t, server);
  const store = { driver: 'postgres' as const, dsn: db.dsn, password: db.password };
  const broker = await startMosquitto(t);
  const clusters = { overrides: new Map([[CLUSTER, { maxDrained: BUDGET, maxUtilization: 0.9 }]]) };
  const a = await startFleet(t, broker.url, store, { clientId: 'fleet-a', clusters, clusterGraceMs: 0 });
  const b = await startFleet(t, broker.url, store, { clientId: 'fleet-b', clusters, clusterGraceMs: 0 });
  const answers = await subscribe(t, broker.url, `${ROOT}/+/grant`);
  const agents = await publisher(t, broker.url);

  const now = Date.now();
  await Promise.all(HOSTS.map((host) => agents.publish(`${ROOT}/${host}/balance`, balanceReportJson(asking(host, now)), true)));

  const latest = () => {
    const byHost = new Map<string, any>();
    for (const m of answers.messages) byHost.set(m.topic.split('/')[2]!, m.json);
    return byHost;
  };
  await waitFor('an answer to every host', async () => (latest().size === HOSTS.length ? true : undefined), 30_000);
  const given = [...latest().values()];
  const granted = given.filter((g) => g?.state === 'granted');
  t.is(granted.length, BUDGET, 'exactly the budget granted (the others could carry them all)');
  t.is(given.filter((g) => g?.state === 'deferred').length, HOSTS.length - BUDGET);
  t.deepEqual(answers.invalid, []);

  // The store agrees, and both collectors show the same cluster.
  const rows = await (await openStore(t, store)).grants();
  t.deepEqual(rows.filter((r) => r.state === 'granted').map((r) => r.host).sort(), granted.map((g) => g.host).sort());
  for (const c of [a, b]) {
    const cluster = (await getJson(`${c.url}/api/clusters`)).clusters.find((x: any) => x.cluster === CLUSTER);
    t.is(cluster.granted.length, BUDGET);
  }
  const said = [...a.logs(), ...b.logs()].filter((l) => String(l.msg).startsWith('drain granted'));
  t.is(said.length, BUDGET, 'each grant logged once, by the collector that made it');
  t.true(new Set(said.map((l) => l.host)).size === BUDGET);
});
