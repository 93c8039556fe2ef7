import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { CLI, startAgent, type RunningAgent } from '../helpers/agent.js';
import { agentCheckArgs, agentCheckPort, FAST_REPLAY, startHaproxy, type ServerState } from '../helpers/haproxy.js';
import { writeStorageTree, type TreeLayout } from '../helpers/storage-tree.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const run = promisify(execFile);
/** Where the database's data lives in these layouts; nothing is at this path on the test host. */
const DATA = '/srv/harbinger-test-pgdata';
const DRAIN = 0x08;


/** sda and sdb, as the replay names them (sdb turns failing in its fourth round); / on sda1. */
const twoDisks = (sdbPartition: { holders?: string[] } = {}): TreeLayout['disks'] => [
  { name: 'sda', dev: '8:0', partitions: [{ name: 'sda1', dev: '8:1' }, { name: 'sda2', dev: '8:2', holders: ['md0'] }] },
  { name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17', ...sdbPartition }] },
];
const root = { dev: '8:1', at: '/', source: '/dev/sda1' };

const LAYOUTS: Record<string, TreeLayout> = {
  // The failing disk carries only /var/log; the data is on the OS disk.
  system: { disks: twoDisks(), mounts: [root, { dev: '8:17', at: '/var/log', source: '/dev/sdb1' }, { dev: '8:2', at: DATA, source: '/dev/sda2' }] },
  // The failing disk holds the data directory.
  data: { disks: twoDisks(), mounts: [root, { dev: '8:17', at: DATA, source: '/dev/sdb1' }] },
  // The data is on a RAID 1 of sda2 and sdb1: the failing sdb is one healthy half.
  redundant: {
    disks: twoDisks({ holders: ['md0'] }),
    arrays: [{ name: 'md0', dev: '9:0', level: 'raid1', members: [{ name: 'sda2', state: 'in_sync' }, { name: 'sdb1', state: 'in_sync' }] }],
    mounts: [root, { dev: '9:0', at: DATA, source: '/dev/md0' }],
  },
};

async function agentFor(t: Parameters<typeof tempDir>[0], layout: TreeLayout): Promise<{ agent: RunningAgent; tree: string; stateDir: string }> {
  const tree = await tempDir(t);
  const { sysfs, procfs } = await writeStorageTree(tree, layout);
  const stateDir = await tempDir(t);
  const agent = await startAgent(t, [
    ...agentCheckArgs('1s'),
    '--balance.data-paths',
    DATA,
    '--no-collector.host',
    '--no-collector.pressure',
    '--path.sysfs',
    sysfs,
    '--path.procfs',
    procfs,
    '--collector.storage.interval',
    '1s',
    '--collector.storage.timeout',
    '1s',
    ...FAST_REPLAY,
    '--state-dir',
    stateDir,
  ]);
  return { agent, tree, stateDir };
}

/** `harbinger balance …` against one agent's state directory and web address, as an operator runs it. */
const balance = (agent: RunningAgent, stateDir: string, ...args: string[]) =>
  run(process.execPath, [CLI, '--state-dir', stateDir, '--web.listen-address', `127.0.0.1:${agent.port}`, 'balance', ...args], { env: { PATH: process.env.PATH ?? '' } });

test('HAProxy follows the disks\' roles: a failing system disk stays UP, a failing data disk DRAINs, a failing mirror half DRAINs only once its array has no redundancy', async (t) => {
  const system = await agentFor(t, LAYOUTS.system!);
  const data = await agentFor(t, LAYOUTS.data!);
  const redundant = await agentFor(t, LAYOUTS.redundant!);
  const haproxy = await startHaproxy(t, [
    { name: 'system', agentPort: await agentCheckPort(system.agent) },
    { name: 'data', agentPort: await agentCheckPort(data.agent) },
    { name: 'redundant', agentPort: await agentCheckPort(redundant.agent) },
  ]);
  const servers = async () => Object.fromEntries((await haproxy.servers()).map((s) => [s.name, s])) as Record<string, ServerState>;
  const health = async (agent: RunningAgent) => (await (await fetch(`${agent.url}/health`)).json()) as {
    balance: { state: string; reasons: string[]; decided_by: string; override: { mode: string; reason: string } | null };
    disks: Array<{ disk: string; device: string; level: string; role: { role: string; reason: string } }>;
  };
  const sdb = async (agent: RunningAgent) => (await health(agent)).disks.find((d) => d.device === 'sdb');

  // Every agent sees sdb failing; only the one whose data it holds drains.
  for (const { agent } of [system, data, redundant]) {
    await waitFor('sdb failing', async () => ((await sdb(agent))?.level === 'failing' ? true : undefined), 30_000);
  }
  const drained = await waitFor('the data server drained', async () => {
    const s = await servers();
    return s.data!.adminState & DRAIN ? s : undefined;
  }, 20_000);
  t.is(drained.system!.adminState & DRAIN, 0, 'a failing system disk leaves the host UP');
  t.is(drained.system!.weight, 100);
  t.is(drained.redundant!.adminState & DRAIN, 0, 'a failing half of a healthy mirror leaves the host UP');
  t.like((await sdb(system.agent))?.role, { role: 'system' });
  t.like((await sdb(data.agent))?.role, { role: 'data' });
  t.like((await sdb(redundant.agent))?.role, { role: 'redundant' });
  t.regex((await health(data.agent)).balance.reasons[0]!, /is failing and holds database data/);
  const metrics = await (await fetch(`${data.agent.url}/metrics`)).text();
  t.regex(metrics, /harbinger_disk_role\{disk="[^"]+",device="sdb",role="data"\} 1/);

  // The mirror's other half fails out of the array: sdb now carries the data alone.
  await writeStorageTree(redundant.tree, {
    ...LAYOUTS.redundant!,
    arrays: [{ name: 'md0', dev: '9:0', level: 'raid1', members: [{ name: 'sda2', state: 'faulty' }, { name: 'sdb1', state: 'in_sync' }] }],
  });
  await waitFor('the redundant server drained once md0 is degraded', async () => ((await servers()).redundant!.adminState & DRAIN ? true : undefined), 20_000);
  t.like((await sdb(redundant.agent))?.role, { role: 'data' });

  // An operator's hold keeps the data host UP at full weight over its failing disk; resume drains it again.
  const held = await balance(data.agent, data.stateDir, 'hold', '--reason', 'vendor says fw 2.1 misreports');
  t.regex(held.stdout, /hold/);
  await waitFor('the held server back UP', async () => {
    const s = (await servers()).data!;
    return !(s.adminState & DRAIN) && s.weight === 100 ? true : undefined;
  });
  t.like((await health(data.agent)).balance, { state: 'up', decided_by: 'operator', override: { mode: 'hold', reason: 'vendor says fw 2.1 misreports' } });
  t.true(data.agent.logs().some((l) => l.msg === 'load-balancer decision changed' && l.cause === 'operator'));
  await balance(data.agent, data.stateDir, 'resume');
  await waitFor('the resumed server drained again', async () => ((await servers()).data!.adminState & DRAIN ? true : undefined));
  t.like((await health(data.agent)).balance, { state: 'drain', decided_by: 'harbinger', override: null });

  // A hold with --for ends by itself.
  await balance(data.agent, data.stateDir, 'hold', '--reason', 'short look', '--for', '3s');
  await waitFor('held', async () => (!((await servers()).data!.adminState & DRAIN) ? true : undefined));
  await waitFor('the expired hold drains again by itself', async () => ((await servers()).data!.adminState & DRAIN ? true : undefined), 20_000);
  t.true(data.agent.logs().some((l) => l.msg === 'operator override expired: harbinger decides'));
  t.is((await health(data.agent)).balance.override, null);
});
