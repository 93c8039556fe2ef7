import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { CLI } from '../helpers/agent.js';
import { CLUSTER, clusterOf, healthOf, replaceDisk, startMember, waitForAnswers, type Member } from '../helpers/cluster.js';
import { startCollector } from '../helpers/fleet.js';
import { ROOT } from '../helpers/fleet-service.js';
import { agentCheckPort, startHaproxy, type ServerState } from '../helpers/haproxy.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { subscribe } from '../helpers/mqtt-subscriber.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

/** srv_admin_state bit: drained (by the agent or the CLI). */
const DRAIN = 0x08;

test('a cluster of three behind HAProxy: two data disks fail at once, exactly one server drains and the other\'s deferral is an event, a metric and on /api/clusters; the first disk replaced, the second is granted', async (t) => {
  const broker = await startMosquitto(t);
  // Every message under the root, each checked against its JSON Schema.
  const watcher = await subscribe(t, broker.url, `${ROOT}/#`);
  const collector = await startCollector(t, ['--mqtt.url', broker.url, '--mqtt.reconnect-max-backoff', '2s', '--fleet.group', '', '--state-dir', await tempDir(t)]);
  const members: Member[] = [
    await startMember(t, 'db1', broker.url, { failing: true }),
    await startMember(t, 'db2', broker.url, { failing: true }),
    await startMember(t, 'db3', broker.url, { failing: false }),
  ];
  const haproxy = await startHaproxy(t, await Promise.all(members.map(async (m) => ({ name: m.host, agentPort: await agentCheckPort(m.agent) }))));
  const servers = async () => Object.fromEntries((await haproxy.servers()).map((s) => [s.name, s])) as Record<string, ServerState>;
  const drained = (s: ServerState) => (s.adminState & DRAIN) !== 0;

  // Both sdb disks turn failing in the same round: one is granted, the other deferred.
  const split = await waitForAnswers(collector.url, 1, 1);
  const first = split.granted[0]!;
  const second = split.deferred[0]!.host;
  t.deepEqual([first, second].sort(), ['db1', 'db2']);
  t.regex(split.deferred[0]!.reason, new RegExp(`^${second}'s data disk is failing, but ${first} is already out of cluster ${CLUSTER} \\(${first}: drain granted\\).*fleet\\.clusters\\.max_drained`));
  const state = await waitFor('HAProxy to drain the granted server', async () => {
    const s = await servers();
    return drained(s[first]!) ? s : undefined;
  });
  t.false(drained(state[second]!), 'the deferred server stays UP');
  t.is(state[second]!.weight, 100);
  t.false(drained(state.db3!));
  const deferredMember = members.find((m) => m.host === second)!;
  const deferredHealth = await waitFor('the deferred host to hold its answer', async () => {
    const h = await healthOf(deferredMember);
    return h.balance.drain_request?.state === 'deferred' ? h : undefined;
  });
  t.is(deferredHealth.balance.state, 'up');
  t.regex(deferredHealth.balance.reasons[0]!, /^drain deferred by the collector: /);
  t.like(deferredHealth.balance.drain_request, { state: 'deferred', verdict: 'drive' });

  // The deferral is an event (from the deferred host), a metric and a log line, each once.
  const event = await watcher.waitFor('the drain_deferred event', (messages) =>
    messages.find((m) => m.json?.type === 'io.harbinger.host.drain_deferred.v1' && m.json.source === `harbinger://${second}`),
  );
  t.like(event.json.data, { host: second, cluster: CLUSTER, verdict: 'drive' });
  t.regex(event.json.data.reason, /already out of cluster/);
  const metrics = parseScrape(await (await fetch(`${collector.url}/metrics`)).text());
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_deferred', { cluster: CLUSTER }), 1);
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_drained', { cluster: CLUSTER }), 1);
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_members', { cluster: CLUSTER, state: 'drain' }), 1);
  t.is(sampleValue(metrics, 'harbinger_fleet_cluster_members', { cluster: CLUSTER, state: 'up' }), 2);
  const agentMetrics = parseScrape(await (await fetch(`${deferredMember.agent.url}/metrics`)).text());
  t.is(sampleValue(agentMetrics, 'harbinger_balance_drain_request', { state: 'deferred' }), 1);
  // What an operator on the deferred host sees.
  const status = await promisify(execFile)(process.execPath, [CLI, '--state-dir', deferredMember.stateDir, '--web.listen-address', `127.0.0.1:${deferredMember.agent.port}`, 'balance', 'status']);
  t.regex(status.stdout, new RegExp(`^cluster: ${CLUSTER}$`, 'm'));
  t.regex(status.stdout, /^drain request: deferred by the collector \(the drive's own verdict\): .*already out of cluster/m);

  // The first disk is replaced: its grant is released and the second host's drain granted.
  await replaceDisk(members.find((m) => m.host === first)!.replay);
  await waitFor(
    'the second server drained and the first back UP',
    async () => {
      const s = await servers();
      return drained(s[second]!) && !drained(s[first]!) ? true : undefined;
    },
    60_000,
  );
  const after = (await clusterOf(collector.url))!;
  t.deepEqual(after.granted, [second]);
  t.deepEqual(after.deferred, []);

  // Each grant, deferral and release is said once by the collector.
  const said = (msg: RegExp, host: string) => collector.logs().filter((l) => msg.test(String(l.msg)) && l.host === host).length;
  t.is(said(/^drain granted/, first), 1);
  t.is(said(/^drain deferred$/, second), 1);
  t.is(said(/^drain grant released$/, first), 1);
  t.is(said(/^drain granted/, second), 1);
  t.deepEqual(watcher.invalid, [], 'every message matches its schema');
});
