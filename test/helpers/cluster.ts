import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { startAgent, type RunningAgent } from './agent.js';
import { getJson } from './fleet.js';
import { agentCheckArgs } from './haproxy.js';
import { writeStorageTree } from './storage-tree.js';
import { repoPath, tempDir } from './tmp.js';
import { waitFor } from './tools.js';

/** Where the database's data lives in the members' block-device trees; nothing is there on the test host. */
export const DATA = '/srv/harbinger-test-pgdata';
export const CLUSTER = 'pg-main';

/**
 * A member's recorded disks: sda (healthy, the system disk) and, for a failing member, sdb from
 * examples/replay, which reads worse each round and is SMART FAILED from its fourth.
 */
export async function memberReplay(t: ExecutionContext, failing: boolean): Promise<string> {
  const dir = await tempDir(t, 'harbinger-replay-');
  await cp(repoPath('examples/replay/sda.json'), join(dir, 'sda.json'));
  if (failing) await addFailingDisk(dir);
  return dir;
}

/**
 * sdb starts to fail (from its first, still healthy, recording). `predictedOnly`: only the
 * recordings before the drive says FAILED, so it is degraded on harbinger's reading of its
 * counters alone, never on the drive's own verdict.
 */
export async function addFailingDisk(replay: string, predictedOnly = false): Promise<void> {
  await cp(repoPath('examples/replay/sdb'), join(replay, 'sdb'), { recursive: true });
  if (predictedOnly) await rm(join(replay, 'sdb', '004.json'));
}

/**
 * The failing sdb is swapped for a new, healthy drive in the same bay: sda's recording with
 * another serial number and WWN, so it is another disk, at the same device name.
 */
export async function replaceDisk(replay: string): Promise<void> {
  const json = JSON.parse(await readFile(join(replay, 'sda.json'), 'utf8')) as Record<string, any>;
  json.serial_number = 'S3Z9NB0KREPLACED';
  if (json.wwn) json.wwn = { ...json.wwn, id: Number(json.wwn.id) + 1 };
  json.device = { ...json.device, name: '/dev/sdb', info_name: '/dev/sdb' };
  await writeFile(join(replay, 'sdb.json.new'), JSON.stringify(json));
  await rm(join(replay, 'sdb'), { recursive: true, force: true });
  await cp(join(replay, 'sdb.json.new'), join(replay, 'sdb.json'));
  await rm(join(replay, 'sdb.json.new'));
}

const IDLE_PSI = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';

/**
 * A /proc/stat whose counters advance every 50 ms at `utilization` busy (in the kernel's format,
 * written whole and renamed into place), so a member reports the CPU figure the test chose and
 * not this machine's, whatever else the machine is doing.
 */
export function tickCpu(t: ExecutionContext, procfs: string, utilization: () => number): void {
  let busy = 0;
  let idle = 0;
  const write = async () => {
    const u = utilization();
    busy += Math.round(u * 100);
    idle += 100 - Math.round(u * 100);
    const line = (name: string) => `${name} ${busy} 0 0 ${idle} 0 0 0 0 0 0`;
    await writeFile(join(procfs, 'stat.new'), `${line('cpu ')}\n${line('cpu0')}\nintr 0\nctxt 0\n`);
    await rename(join(procfs, 'stat.new'), join(procfs, 'stat'));
  };
  const timer = setInterval(() => void write().catch(() => {}), 50);
  t.teardown(() => clearInterval(timer));
  void write();
}

/**
 * A block-device tree in which sdb holds the database's data (so its failure drains the host),
 * with pressure files at rest and a /proc/stat that says `cpu` busy (tickCpu): the member's load
 * is the test's choice.
 */
export async function dataDiskTree(t: ExecutionContext, cpu: () => number = () => 0.2): Promise<{ sysfs: string; procfs: string }> {
  const tree = await tempDir(t);
  const paths = await writeStorageTree(tree, {
    disks: [
      { name: 'sda', dev: '8:0', partitions: [{ name: 'sda1', dev: '8:1' }] },
      { name: 'sdb', dev: '8:16', partitions: [{ name: 'sdb1', dev: '8:17' }] },
    ],
    mounts: [
      { dev: '8:1', at: '/', source: '/dev/sda1' },
      { dev: '8:17', at: DATA, source: '/dev/sdb1' },
    ],
  });
  await mkdir(join(paths.procfs, 'pressure'), { recursive: true });
  for (const resource of ['cpu', 'memory', 'io']) await writeFile(join(paths.procfs, 'pressure', resource), IDLE_PSI);
  await cp(repoPath('test/fixtures/host/modern/proc/meminfo'), join(paths.procfs, 'meminfo'));
  await cp(repoPath('test/fixtures/host/modern/proc/loadavg'), join(paths.procfs, 'loadavg'));
  tickCpu(t, paths.procfs, cpu);
  return paths;
}

export interface Member {
  host: string;
  agent: RunningAgent;
  replay: string;
  stateDir: string;
}

/** One member of CLUSTER: agent-check on, MQTT to `brokerUrl`, fast rounds, a short grant timeout. */
export async function startMember(
  t: ExecutionContext,
  host: string,
  brokerUrl: string,
  options: { failing: boolean; grantTimeout?: string; cpu?: () => number; extra?: string[] },
): Promise<Member> {
  const replay = await memberReplay(t, options.failing);
  const stateDir = await tempDir(t);
  const { sysfs, procfs } = await dataDiskTree(t, options.cpu);
  const agent = await startAgent(t, [
    ...agentCheckArgs('1s'),
    '--no-collector.host',
    '--balance.data-paths', DATA,
    '--path.sysfs', sysfs,
    '--path.procfs', procfs,
    '--collector.storage.interval', '1s',
    '--collector.storage.timeout', '1s',
    '--collector.pressure.interval', '1s',
    '--collector.pressure.timeout', '1s',
    '--smart.replay', replay,
    '--collector.smart.interval', '1s',
    '--collector.smart.timeout', '1s',
    '--state-dir', stateDir,
    '--mqtt.url', brokerUrl,
    '--mqtt.host', host,
    '--mqtt.reconnect-max-backoff', '2s',
    '--balance.cluster', CLUSTER,
    '--balance.report-interval', '1s',
    '--balance.grant-timeout', options.grantTimeout ?? '2m',
    ...(options.extra ?? []),
  ]);
  return { host, agent, replay, stateDir };
}

export interface ClustersJson {
  clusters: Array<{
    cluster: string;
    members: Array<{ host: string; state: string; request: { id: string; verdict: string } | null; answer: { state: string; reason: string; decided: string } | null; load: { cpu_utilization: number | null } }>;
    granted: string[];
    deferred: Array<{ host: string; reason: string }>;
    drained: number;
    failover: { utilization_ratio: number | null; lost: string | null };
  }>;
}

export async function clusterOf(collectorUrl: string, cluster = CLUSTER): Promise<ClustersJson['clusters'][number] | undefined> {
  return (await getJson<ClustersJson>(`${collectorUrl}/api/clusters`)).clusters.find((c) => c.cluster === cluster);
}

export interface AgentHealth {
  balance: { state: string; weight: number; reasons: string[]; drain_request: { id: string; state: string; verdict: string; answer: { state: string } | null } | null };
}

export const healthOf = async (m: Member): Promise<AgentHealth> => (await (await fetch(`${m.agent.url}/health`)).json()) as AgentHealth;

/** The cluster once the collector shows `granted` grants and `deferred` deferrals. */
export function waitForAnswers(collectorUrl: string, granted: number, deferred: number, timeoutMs = 60_000): Promise<ClustersJson['clusters'][number]> {
  return waitFor(
    `${granted} drain(s) granted and ${deferred} deferred`,
    async () => {
      const c = await clusterOf(collectorUrl);
      return c && c.granted.length === granted && c.deferred.length === deferred ? c : undefined;
    },
    timeoutMs,
  );
}
