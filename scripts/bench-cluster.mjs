#!/usr/bin/env node
// The collector's failover figure against what happens: three PostgreSQL servers behind HAProxy,
// each watched by an agent of cluster "bench"; pgbench at a fixed rate through HAProxy with all
// three in (phase A), then the member the collector says would hurt most to lose is drained with
// `harbinger balance drain` and the same run is repeated (phase B). The table compares each
// remaining member's CPU in phase B with what the collector projected at the end of phase A.
//
//   npm run build && node scripts/bench-cluster.mjs [--seconds 60] [--rate 80] [--clients 12]
//       [--quota 0.4] [--scale 5] [--script select-only|tpcb] [--connect per-transaction|per-client]
//       [--balance roundrobin|leastconn]
//
// Runs as root (cgroups, servers run as nobody), needs PostgreSQL 15 and pgbench, HAProxy and
// Mosquitto (Debian's postgresql, haproxy, mosquitto). Everything lives in temporary
// directories on free ports and is removed at the end, also on Ctrl-C or an error.
//
// All three servers share this machine, so each is made to behave like a host of its own: its
// postmaster (and so every backend it forks) is in a cgroup v1 `cpu` + `cpuacct` group of its own
// with a CPU quota (--quota cores), its CPU is read from cpuacct.usage, and its agent reads a
// /proc/stat the script writes from that figure as a share of the quota. Without cgroups
// (--quota 0, or they cannot be made) the CPU is summed from /proc/<pid>/stat and is a share of
// the whole machine.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanup, freePort, onCleanup, quantile, root, runToEnd, sleep, start, waitFor, waitServing } from './bench-lib.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    // With a new connection per transaction, a transaction costs the server a fork and a backend
    // start, 6.4–7 ms of CPU on the build machine. 80 tx/s puts each of three members near 45% of
    // a 0.4-CPU quota, and the two left in phase B near 65%: loaded, not saturated; see
    // docs/performance.md.
    rate: { type: 'string', default: '80' },
    clients: { type: 'string', default: '12' },
    quota: { type: 'string', default: '0.4' },
    scale: { type: 'string', default: '5' },
    script: { type: 'string', default: 'select-only' },
    connect: { type: 'string', default: 'per-transaction' },
    balance: { type: 'string', default: 'roundrobin' },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const clients = Number(values.clients);
const quota = Number(values.quota);
const scale = Number(values.scale);
const fail = (message) => {
  console.error(message);
  process.exit(64);
};
if (!(seconds >= 10)) fail('--seconds: at least 10');
if (!(rate > 0) || !(clients >= 1) || !(scale >= 1) || !(quota >= 0)) fail('--rate, --clients and --scale must be positive, --quota 0 or more');
if (!['select-only', 'tpcb'].includes(values.script)) fail('--script: select-only or tpcb');
if (!['per-transaction', 'per-client'].includes(values.connect)) fail('--connect: per-transaction or per-client');
if (!['roundrobin', 'leastconn'].includes(values.balance)) fail('--balance: roundrobin or leastconn');
if (process.getuid() !== 0) fail('run it as root: it makes cgroups and starts the servers as nobody');

const HOSTS = ['db1', 'db2', 'db3'];
const CLUSTER = 'bench';
const CORES = cpus().length;
const launcher = join(root, 'bin/harbinger');
const helpers = (name) => import(join(root, 'dist/test/helpers', name));
if (!existsSync(join(root, 'dist/test/helpers/postgres.js'))) fail('build first: npm run build');
const program = (name, paths) => {
  const found = paths.find((p) => existsSync(p));
  if (!found) fail(`${name} is not installed (apt-get install ${name})`);
  return found;
};
const HAPROXY = program('haproxy', ['/usr/sbin/haproxy', '/usr/bin/haproxy']);
const MOSQUITTO = program('mosquitto', ['/usr/sbin/mosquitto', '/usr/bin/mosquitto']);
program('pgbench', ['/usr/bin/pgbench']);
const { startPostgres } = await helpers('postgres.js');

const log = (text) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
const pct = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(d)}%`);
const num = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));
const ms = (x) => (num(x) === '—' ? '—' : `${num(x)} ms`);

// ---------------------------------------------------------------------------------------------
// CPU of one server: its cgroup's cpuacct.usage, or /proc of the postmaster and its children.

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const CGROUP = '/sys/fs/cgroup';

/** utime + stime (+ cutime + cstime: children it has reaped) of a process, in seconds; 0 when gone. */
function processCpuSeconds(pid, withReaped) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12]) + (withReaped ? Number(f[13]) + Number(f[14]) : 0)) / CLK_TCK;
  } catch {
    return 0;
  }
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * A cgroup v1 group of this name in the cpu and cpuacct hierarchies (the same directory where
 * they are mounted together, as cpu,cpuacct) with a CFS quota of `cores`.
 */
class CpuGroup {
  constructor(name, cores) {
    this.cpu = join(CGROUP, 'cpu', name);
    this.acct = join(CGROUP, 'cpuacct', name);
    this.dirs = [];
    const made = (dir) => {
      mkdirSync(dir);
      this.dirs.push(dir);
    };
    made(this.cpu);
    if (realpathSync(join(CGROUP, 'cpuacct')) !== realpathSync(join(CGROUP, 'cpu'))) made(this.acct);
    const period = Number(readFileSync(join(this.cpu, 'cpu.cfs_period_us'), 'utf8'));
    writeFileSync(join(this.cpu, 'cpu.cfs_quota_us'), String(Math.round(cores * period)));
    if (!existsSync(join(this.acct, 'cpuacct.usage'))) throw new Error(`${this.acct}/cpuacct.usage is missing`);
  }

  /** Moves a process in; what it forks from then on is born in the group. */
  add(pid) {
    for (const dir of this.dirs) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }

  members() {
    return readFileSync(join(this.cpu, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
  }

  seconds() {
    return Number(readFileSync(join(this.acct, 'cpuacct.usage'), 'utf8')) / 1e9;
  }

  /** cpu.stat: CFS periods with runnable tasks, those in which the quota ran out, and the time held back. */
  throttling() {
    const stat = Object.fromEntries(readFileSync(join(this.cpu, 'cpu.stat'), 'utf8').trim().split('\n').map((l) => l.split(' ')));
    return { periods: Number(stat.nr_periods), throttled: Number(stat.nr_throttled), seconds: Number(stat.throttled_time) / 1e9 };
  }

  /** rmdir needs the group empty: killed servers leave it a moment later; stragglers go to the root group. */
  async remove() {
    for (const dir of this.dirs.reverse()) {
      for (let i = 0; existsSync(dir); i++) {
        try {
          rmdirSync(dir);
        } catch (err) {
          if (err.code !== 'EBUSY' || i > 50) throw err;
          if (i === 20) for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean)) writeFileSync(join(dir, '..', 'cgroup.procs'), pid);
          await sleep(100);
        }
      }
    }
  }
}

/** Makes the three groups, or says why not (then the run measures machine-wide shares). */
function makeGroups() {
  if (quota === 0) return { why: '--quota 0' };
  const made = [];
  try {
    for (const host of HOSTS) {
      const group = new CpuGroup(`harbinger-bench-cluster-${process.pid}-${host}`, quota);
      made.push(group);
    }
    return { groups: made };
  } catch (err) {
    for (const g of made) for (const dir of g.dirs.reverse()) rmSync(dir, { recursive: false, force: true });
    return { why: err.message };
  }
}

// ---------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'harbinger-bench-cluster-'));
onCleanup(() => rmSync(work, { recursive: true, force: true }));

const cgroups = makeGroups();
const capacity = cgroups.groups ? quota : CORES; // cores a server may use: the base of its utilisation
if (cgroups.groups) {
  onCleanup(() => Promise.all(cgroups.groups.map((g) => g.remove())));
  log(`cgroups: ${HOSTS.map((h, i) => cgroups.groups[i].cpu).join(', ')}, quota ${quota} CPU each`);
} else {
  log(`no cgroups (${cgroups.why}): no CPU quota, CPU summed from /proc/<pid>/stat of each postmaster and its children; the figures are shares of the whole machine (${CORES} cores)`);
}

async function main() {
  // 1. Three PostgreSQL servers, the test harness's way (initdb into a temporary directory,
  // `postgres` as nobody on a free port), each moved into its cgroup with the processes it has
  // started so far; the backends it forks later are born there.
  log('starting three PostgreSQL servers…');
  // Registered before they are up, so that an interrupt while they start removes them too.
  const starting = HOSTS.map(() => startPostgres({ settings: { max_connections: '100' } }));
  onCleanup(() => Promise.all(starting.map(async (p) => (await p.catch(() => undefined))?.destroy())));
  const servers = await Promise.all(starting);
  const cpuOf = servers.map((pg, i) => {
    const group = cgroups.groups?.[i];
    if (group) {
      group.add(pg.pid);
      for (const child of childrenOf(pg.pid)) group.add(child);
      return () => group.seconds();
    }
    // The postmaster's own time, what it has reaped of exited backends, and the live children's.
    return () => processCpuSeconds(pg.pid, true) + childrenOf(pg.pid).reduce((sum, c) => sum + processCpuSeconds(c, false), 0);
  });

  await Promise.all(
    servers.map(async (pg) => {
      await pg.query('CREATE DATABASE bench');
      await pg.query('CREATE ROLE harbinger LOGIN');
      await pg.query('GRANT pg_monitor TO harbinger');
      await pg.query('CREATE EXTENSION pg_stat_statements');
      // pgbench logs into bench over TCP without a password: it runs on the same two cores, and a
      // SCRAM exchange per connection would cost it (and the server) a PBKDF2 each time.
      const hba = join(pg.dataDir, 'pg_hba.conf');
      writeFileSync(hba, `host bench postgres 127.0.0.1/32 trust\n${readFileSync(hba, 'utf8')}`);
      await pg.query('SELECT pg_reload_conf()');
      const init = await runToEnd('pgbench', ['-i', '-q', '-s', String(scale), '-h', pg.dir, '-p', String(pg.port), '-U', 'postgres', 'bench']);
      if (init.code !== 0) throw new Error(`pgbench -i on port ${pg.port}: ${init.stderr.slice(-1000)}`);
    }),
  );
  log(`pgbench -i -s ${scale} done on ports ${servers.map((s) => s.port).join(', ')}`);

  // 2. Mosquitto, the collector, and an agent per server.
  const mqttPort = await freePort();
  const mosquittoConf = join(work, 'mosquitto.conf');
  // As root Mosquitto would drop to user "mosquitto", who cannot read the private temporary directory.
  writeFileSync(mosquittoConf, [`listener ${mqttPort} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'user root', ''].join('\n'));
  start('mosquitto', MOSQUITTO, ['-c', mosquittoConf]);
  await waitFor('mosquitto', () => canConnect(mqttPort));
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;

  const collectorPort = await freePort();
  const collectorUrl = `http://127.0.0.1:${collectorPort}`;
  const collectorState = join(work, 'collector');
  mkdirSync(collectorState);
  start('harbinger collector', launcher, ['collector', '--mqtt.url', mqttUrl, '--fleet.group', '', '--state-dir', collectorState, '--fleet.listen-address', `127.0.0.1:${collectorPort}`]);
  await waitFor('the collector connected to the broker', async () => ((await getJson(`${collectorUrl}/health`)).mqtt_connected ? true : undefined), 30_000, 200);

  const agents = [];
  for (const [i, host] of HOSTS.entries()) {
    const pg = servers[i];
    const dir = join(work, host);
    const procfs = join(dir, 'proc');
    const stateDir = join(dir, 'state');
    mkdirSync(procfs, { recursive: true });
    mkdirSync(stateDir);
    // The pressure collector reads PSI, meminfo and loadavg too: the machine's own, shared by the
    // three "hosts"; only stat is the server's.
    for (const name of ['pressure', 'meminfo', 'loadavg', 'cpuinfo']) if (existsSync(`/proc/${name}`)) symlinkSync(`/proc/${name}`, join(procfs, name));
    const ticker = tickStat(procfs, cpuOf[i]);
    onCleanup(() => clearInterval(ticker));
    const webPort = await freePort();
    const agentCheckPort = await freePort();
    const target = { name: 'pg', driver: 'postgres', socket: join(pg.dir, `.s.PGSQL.${pg.port}`), user: 'harbinger', database: 'postgres' };
    start(`harbinger agent ${host}`, launcher, [
      'run',
      '--web.listen-address', `127.0.0.1:${webPort}`,
      '--state-dir', stateDir,
      '--path.procfs', procfs,
      '--mqtt.url', mqttUrl,
      '--mqtt.host', host,
      '--balance.cluster', CLUSTER,
      '--balance.agent-check-address', `127.0.0.1:${agentCheckPort}`,
      '--balance.report-interval', '2s',
      '--collector.pressure.interval', '2s',
      '--collector.pressure.timeout', '1s',
      '--collector.db.targets', JSON.stringify([target]),
      '--collector.db.interval', '5s',
      '--collector.db.timeout', '4s',
      '--no-collector.smart',
      '--no-collector.storage',
      // The PSI the agents read is the whole machine's (three servers, pgbench, other work on
      // it), not a host's own: it must not move one server's weight, so its limits are the top.
      '--balance.limits.cpu-pressure', '100',
      '--balance.limits.memory-pressure', '100',
      '--balance.limits.io-pressure', '100',
    ]);
    agents.push({ host, webPort, agentCheckPort, stateDir });
  }
  await Promise.all(agents.map((a) => waitServing(a.webPort)));
  log(`agents serving on ${agents.map((a) => `${a.host} :${a.webPort} (agent-check :${a.agentCheckPort})`).join(', ')}`);

  // 3. HAProxy in front, equal weights, each server's weight and state from its agent.
  const haproxyPort = await freePort();
  const socket = join(work, 'haproxy.sock');
  const haproxyConf = join(work, 'haproxy.cfg');
  writeFileSync(
    haproxyConf,
    [
      'global',
      `  stats socket ${socket} mode 600 level admin`,
      '  maxconn 2000',
      'defaults',
      '  mode tcp',
      '  timeout connect 2s',
      '  timeout client 2m',
      '  timeout server 2m',
      'frontend pg_in',
      `  bind 127.0.0.1:${haproxyPort}`,
      '  default_backend pg',
      'backend pg',
      `  balance ${values.balance}`,
      ...HOSTS.map((h, i) => `  server ${h} 127.0.0.1:${servers[i].port} weight 100 check agent-check agent-addr 127.0.0.1 agent-port ${agents[i].agentCheckPort} agent-inter 1s`),
      '',
    ].join('\n'),
  );
  execFileSync(HAPROXY, ['-c', '-q', '-f', haproxyConf]);
  const haproxy = start('haproxy', HAPROXY, ['-db', '-f', haproxyConf]);
  const haproxyState = () => serversState(socket);
  await waitFor('HAProxy with every server up at weight 100', async () => {
    const s = await haproxyState();
    return HOSTS.every((h) => s[h]?.opState === 2 && !s[h].drained && s[h].weight === 100) ? true : undefined;
  });

  // The collector has the cluster, every member's CPU and so a failover figure.
  await waitFor(
    'the collector to compute the failover figure of cluster bench',
    async () => {
      const c = await clusterOf(collectorUrl);
      return c && c.members.length === HOSTS.length && c.members.every((m) => m.load.cpu_utilization !== null) && c.failover.utilization_ratio !== null ? true : undefined;
    },
    60_000,
    500,
  );
  log('cluster bench complete at the collector; phase A');

  // 4. Phase A with all three, the drain, phase B without one.
  const phase = (name) => runPhase(name, { servers, cpuOf, haproxyPort, haproxyState, haproxyPid: haproxy.pid, collectorUrl });
  const a = await phase('A');
  const predicted = a.collector.last;
  const lost = predicted?.failover.lost ?? 'db1';
  log(`the collector's failover figure at the end of phase A: ${num(predicted?.failover.utilization_ratio, 3)}, losing ${predicted?.failover.lost ?? '(none named: db1)'}`);
  const agent = agents.find((x) => x.host === lost);
  const drainAt = Date.now();
  const drain = await runToEnd(launcher, ['balance', 'drain', '--reason', `bench-cluster: phase B without ${lost}`, '--state-dir', agent.stateDir, '--web.listen-address', `127.0.0.1:${agent.webPort}`]);
  if (drain.code !== 0) throw new Error(`harbinger balance drain exited ${drain.code}: ${drain.stderr}${drain.stdout}`);
  log(`harbinger balance drain: ${drain.stdout.trim().replace(/\n/g, ' ')}`);
  await waitFor(`HAProxy to show ${lost} drained`, async () => ((await haproxyState())[lost]?.drained ? true : undefined), 30_000, 50);
  const drainSeconds = (Date.now() - drainAt) / 1000;
  log(`HAProxy shows ${lost} drained ${drainSeconds.toFixed(2)} s after the command; phase B`);
  const b = await phase('B');

  report({ a, b, lost, drainSeconds, maxConnections: 100 });
}

// ---------------------------------------------------------------------------------------------

/**
 * The agent's /proc/stat, rewritten every 100 ms: busy = the server's CPU time, total = the
 * cores it may use (its quota, or the machine) × the time elapsed. The agent only takes ratios
 * of the two, so the ticks are milliseconds, finer than the kernel's 10 ms. Idle never goes
 * backwards, even when the server ran a little over its quota in one interval (CFS accounts it
 * against the next period).
 */
function tickStat(procfs, cpuSeconds) {
  const t0 = Date.now();
  const cpu0 = cpuSeconds();
  const cores = capacity < 1 ? 1 : Math.round(capacity);
  let idle = 0;
  const write = () => {
    const busy = Math.round((cpuSeconds() - cpu0) * 1000);
    idle = Math.max(idle, Math.round((Date.now() - t0) * capacity) - busy);
    const line = (name) => `${name} ${busy} 0 0 ${idle} 0 0 0 0 0 0`;
    const perCore = Array.from({ length: cores }, (_, i) => line(`cpu${i}`));
    writeFileSync(join(procfs, 'stat.new'), `${line('cpu ')}\n${perCore.join('\n')}\nintr 0\nctxt 0\n`);
    renameSync(join(procfs, 'stat.new'), join(procfs, 'stat'));
  };
  write();
  return setInterval(write, 100);
}

/** The admin socket's `show servers state pg`: opState 2 is running, admin bit 0x08 a drain. */
async function serversState(socket) {
  const text = await new Promise((resolve, reject) => {
    const c = connect(socket);
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end('show servers state pg\n');
  });
  const state = {};
  for (const row of text.split('\n').filter((l) => /^\d/.test(l))) {
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight …
    const f = row.split(' ');
    state[f[3]] = { opState: Number(f[5]), drained: (Number(f[6]) & 0x08) !== 0, weight: Number(f[7]) };
  }
  return state;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(undefined));
  });
}

async function getJson(url) {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

const clusterOf = async (collectorUrl) => (await getJson(`${collectorUrl}/api/clusters`)).clusters.find((c) => c.cluster === CLUSTER);

/**
 * The machine's busy, steal and total ticks from the real /proc/stat, for how loaded it was: the
 * servers share it with pgbench, HAProxy, the agents and whatever else runs there. Steal is time
 * the hypervisor gave this VM's CPUs to others.
 */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, steal: f[7], total };
}

const noThrottling = { periods: 0, throttled: 0, seconds: 0 };

/**
 * pgbench transactions each server ran: the calls of the one statement both scripts run once per
 * transaction, from pg_stat_statements (counted as each statement ends). pg_stat_database's
 * xact_commit would count a connection's start-up transaction too, two per -C transaction.
 */
const transactionsRun = (connections) =>
  Promise.all(
    connections.map(async (client) => {
      const {
        rows: [row],
      } = await client.query(
        "SELECT coalesce(sum(calls), 0)::float8 AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'bench' AND s.query LIKE 'SELECT abalance FROM pgbench_accounts%'",
      );
      return Number(row.n);
    }),
  );

/**
 * One pgbench run through HAProxy at the fixed rate, with while it runs: the collector's view
 * every 2 s, HAProxy's weights, and each server's client connections in bench every second.
 */
async function runPhase(name, { servers, cpuOf, haproxyPort, haproxyState, haproxyPid, collectorUrl }) {
  const logPrefix = join(work, `pgbench-${name}`);
  const args = ['-h', '127.0.0.1', '-p', String(haproxyPort), '-U', 'postgres', '-n'];
  // A new connection per transaction (-C), so HAProxy places every transaction: the load follows
  // the weights, and a drained server gets no new work. One thread per client: pgbench connects
  // synchronously within a thread, so fewer threads would cap the rate of connections.
  if (values.connect === 'per-transaction') args.push('-C');
  args.push('-c', String(clients), '-j', String(clients), '-R', String(rate), '-T', String(seconds), '--protocol=simple');
  if (values.script === 'select-only') args.push('-S');
  args.push('-l', '--log-prefix', logPrefix, 'bench');

  // One connection per server for the counts and samples, open throughout: connecting costs the
  // server more CPU than the queries.
  const sampler = await Promise.all(servers.map((pg) => pg.connect()));
  const throttling = () => HOSTS.map((_, i) => cgroups.groups?.[i].throttling() ?? noThrottling);
  const before = { transactions: await transactionsRun(sampler), cpu: cpuOf.map((f) => f()), throttling: throttling(), haproxy: processCpuSeconds(haproxyPid, false), machine: machineTicks(), at: Date.now() };
  let pgbenchPid;
  const run = runToEnd('pgbench', args, { cwd: work, onSpawn: (child) => (pgbenchPid = child.pid) });
  let done = false;
  void run.then(() => (done = true));
  const collector = [];
  const weights = Object.fromEntries(HOSTS.map((h) => [h, new Set()]));
  const connections = servers.map(() => []);
  let pgbenchCpu = 0;
  let nextCollector = 0;
  let nextConnections = 0;
  while (!done) {
    const now = Date.now();
    // pgbench's CPU from its /proc entry (threads included), the last reading before it exits.
    if (pgbenchPid) pgbenchCpu = Math.max(pgbenchCpu, processCpuSeconds(pgbenchPid, false));
    if (now >= nextCollector) {
      nextCollector = now + 2000;
      try {
        const c = await clusterOf(collectorUrl);
        if (c && !done) collector.push({ at: (Date.now() - before.at) / 1000, cluster: c });
      } catch {}
      try {
        const s = await haproxyState();
        for (const h of HOSTS) if (s[h]) weights[h].add(s[h].drained ? 'drain' : s[h].weight);
      } catch {}
    }
    if (now >= nextConnections) {
      nextConnections = now + 1000;
      await Promise.all(
        sampler.map(async (client, i) => {
          const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'bench' AND backend_type = 'client backend'");
          connections[i].push(rows[0].n);
        }),
      );
    }
    if (process.stderr.isTTY) process.stderr.write(`\r  phase ${name}: ${Math.max(0, seconds - (Date.now() - before.at) / 1000).toFixed(0)} s left   `);
    await Promise.race([run, sleep(100)]);
  }
  if (process.stderr.isTTY) process.stderr.write('\r\n');
  const result = await run;
  const elapsed = (Date.now() - before.at) / 1000;
  const after = { transactions: await transactionsRun(sampler), cpu: cpuOf.map((f) => f()), throttling: throttling(), haproxy: processCpuSeconds(haproxyPid, false), machine: machineTicks() };
  const load1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  await Promise.all(sampler.map((c) => c.end()));
  if (result.code !== 0) throw new Error(`pgbench (phase ${name}) exited ${result.code}: ${result.stderr.slice(-2000)}`);

  const tx = after.transactions.map((n, i) => n - before.transactions[i]);
  const txTotal = tx.reduce((a, b) => a + b, 0);
  const members = HOSTS.map((host, i) => ({
    host,
    transactions: tx[i],
    share: txTotal > 0 ? tx[i] / txTotal : undefined,
    cpu: (after.cpu[i] - before.cpu[i]) / (capacity * elapsed),
    cpuSeconds: after.cpu[i] - before.cpu[i],
    connections: connections[i].reduce((a, b) => a + b, 0) / Math.max(1, connections[i].length),
    // Of the 100 ms periods in which the server wanted CPU, the share in which its quota ran out.
    throttled: (after.throttling[i].throttled - before.throttling[i].throttled) / Math.max(1, after.throttling[i].periods - before.throttling[i].periods),
    weights: [...weights[host]],
  }));
  const summary = parsePgbench(result.stdout);
  if (Math.abs(txTotal - summary.processed) > 0.02 * summary.processed) log(`warning: the servers counted ${txTotal} transactions, pgbench ${summary.processed}`);
  const latencies = readLatencies(logPrefix);
  const half = collector.filter((s) => s.at >= seconds / 2);
  log(`phase ${name}: ${summary.tps?.toFixed(1)} tps, ${members.map((m) => `${m.host} ${pct(m.share)} of tx, CPU ${pct(m.cpu)}`).join('; ')}`);
  return {
    name,
    elapsed,
    members,
    pgbench: { ...summary, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), cpu: pgbenchCpu / elapsed },
    haproxyCpu: (after.haproxy - before.haproxy) / elapsed,
    machine: (after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total),
    steal: (after.machine.steal - before.machine.steal) / (after.machine.total - before.machine.total),
    load1,
    collector: { last: collector.at(-1)?.cluster, lastAt: collector.at(-1)?.at, secondHalf: half.map((s) => s.cluster) },
  };
}

function parsePgbench(text) {
  const n = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    processed: n(/number of transactions actually processed: (\d+)/),
    failed: n(/number of failed transactions: (\d+)/) ?? 0,
    latencyMs: n(/latency average = ([\d.]+) ms/),
    lagMs: n(/rate limit schedule lag: avg ([\d.]+)/),
    connectMs: n(/average connection time = ([\d.]+) ms/),
    tps: n(/tps = ([\d.]+)/),
  };
}

/** Per-transaction latencies in ms from pgbench's -l logs (one file per thread), sorted. */
function readLatencies(prefix) {
  const latencies = [];
  for (const file of readdirSync(work).filter((f) => join(work, f).startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(work, file), 'utf8').split('\n')) {
      // client_id transaction_no time(µs) script_no time_epoch time_us [schedule_lag]
      const f = line.split(' ');
      if (f.length >= 6 && f[2] !== 'skipped' && f[2] !== 'failed') latencies.push(Number(f[2]) / 1000);
    }
  }
  return latencies.sort((x, y) => x - y);
}

// ---------------------------------------------------------------------------------------------

function report({ a, b, lost, drainSeconds, maxConnections }) {
  const predicted = a.collector.last;
  const projected = new Map((predicted?.failover.members ?? []).map((m) => [m.host, m]));
  const seen = new Map((predicted?.members ?? []).map((m) => [m.host, m.load.cpu_utilization]));
  const mean = (xs) => (xs.length === 0 ? undefined : xs.reduce((s, x) => s + x, 0) / xs.length);
  const of = (p, h) => p.members.find((m) => m.host === h);
  const rest = HOSTS.filter((h) => h !== lost);
  // The collector's formula (headroom.ts) on the whole phase's measured CPU, equal capacities:
  // u_i + u_k / (n − 1).
  const fromMeasured = (h) => of(a, h).cpu + of(a, lost).cpu / (HOSTS.length - 1);
  const measuredFigure = Math.max(...rest.map((h) => of(b, h).cpu));
  const formulaFigure = Math.max(...rest.map(fromMeasured));
  const collectorFigure = predicted?.failover.utilization_ratio;
  const secondHalfFigure = mean(a.collector.secondHalf.map((c) => c.failover.utilization_ratio).filter((x) => x !== null));
  const secondHalfLost = [...new Set(a.collector.secondHalf.map((c) => c.failover.lost))];
  const points = (x, y) => (x == null || y == null ? '—' : `${((x - y) * 100).toFixed(1)} pt`);
  // What the agents reported during B, as the collector had it (second half of the phase).
  const reportedB = (h) => mean(b.collector.secondHalf.map((c) => c.members.find((m) => m.host === h)?.load.cpu_utilization).filter((x) => x != null));
  const lastB = b.collector.last;

  const where = cgroups.groups
    ? `a ${quota}-CPU quota each (cgroup v1 cpu.cfs_quota_us), CPU from cpuacct.usage as a share of the quota`
    : `no cgroups (${cgroups.why}): CPU from /proc/<pid>/stat as a share of the whole machine (${CORES} cores)`;
  const out = [
    `bench-cluster: 3 × PostgreSQL 15 behind HAProxy (${values.balance}), ${where}; pgbench ${values.script}` +
      `${values.connect === 'per-transaction' ? ' -C (a connection per transaction)' : ' (a connection per client)'}, ${clients} clients, -R ${rate}, ${seconds} s per phase, scale ${scale}. ` +
      `Phase A: all three in; phase B: ${lost} drained with \`harbinger balance drain\` (HAProxy showed it ${drainSeconds.toFixed(1)} s after the command).`,
    '',
    '| server | A: share of tx | A: CPU measured | A: CPU the collector had | B predicted by the collector | B predicted from A measured | B: share of tx | B: CPU measured | B measured − collector\'s |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const h of HOSTS) {
    const p = h === lost ? undefined : projected.get(h)?.cpu_utilization;
    out.push(
      `| ${h}${h === lost ? ' (drained)' : ''} | ${pct(of(a, h).share)} | ${pct(of(a, h).cpu)} | ${pct(seen.get(h))} | ${pct(p)} | ${h === lost ? '—' : pct(fromMeasured(h))} | ${pct(of(b, h).share)} | ${pct(of(b, h).cpu)} | ${points(h === lost ? undefined : of(b, h).cpu, p)} |`,
    );
  }
  out.push(
    `| **failover figure** (the fullest remaining) | | | | **${num(collectorFigure, 3)}** (lost: ${predicted?.failover.lost ?? '—'}) | ${num(formulaFigure, 3)} | | **${num(measuredFigure, 3)}** | ${points(measuredFigure, collectorFigure)} |`,
    '',
    // Why B's figures differ from the prediction: the work done, its cost, the quota, connections.
    '| server | A: tx/s | A: CPU per tx | A: throttled | A: connections | B: tx/s | B: CPU per tx | B: throttled | B: connections | B: CPU the agent reported |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  const perTx = (m) => (m.transactions > 0 ? `${((m.cpuSeconds / m.transactions) * 1000).toFixed(2)} ms` : '—');
  const throttled = (m) => (cgroups.groups ? pct(m.throttled, 0) : '—');
  for (const h of HOSTS) {
    const [x, y] = [of(a, h), of(b, h)];
    out.push(
      `| ${h} | ${num(x.transactions / a.elapsed)} | ${perTx(x)} | ${throttled(x)} | ${num(x.connections, 2)} | ${num(y.transactions / b.elapsed)} | ${perTx(y)} | ${throttled(y)} | ${num(y.connections, 2)} | ${h === lost ? '—' : pct(reportedB(h))} |`,
    );
  }
  out.push(
    '',
    '| phase | tps | done of scheduled | latency avg | p50 | p99 | schedule lag avg | connection time avg | failed | pgbench CPU | HAProxy CPU | machine busy (steal) | load average at the end |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const p of [a, b]) {
    const g = p.pgbench;
    out.push(
      `| ${p.name} | ${num(g.tps)} | ${pct(g.processed / (rate * seconds), 0)} | ${ms(g.latencyMs)} | ${ms(g.p50)} | ${ms(g.p99)} | ${ms(g.lagMs)} | ${ms(g.connectMs)} | ${g.failed} | ${num(g.cpu * 100, 0)}% of a core | ${num(p.haproxyCpu * 100, 0)}% of a core | ${pct(p.machine, 0)} of ${CORES} cores (${pct(p.steal, 0)}) | ${num(p.load1, 1)} |`,
    );
  }
  const weights = (p) => p.members.map((m) => `${m.host} ${m.weights.join('/')}`).join(', ');
  const projectedConnections = (predicted?.failover.members ?? []).map((m) => `${m.host} ${pct(m.connections_ratio, 1)}`).join(', ');
  out.push(
    '',
    `The collector's figure is the one it served ${num(a.collector.lastAt, 0)} s into phase A (each member's CPU over about its last minute of 2-second readings); over the second half of phase A its ${a.collector.secondHalf.length} readings averaged ${num(secondHalfFigure, 3)}, naming ${secondHalfLost.join(', ')} as the loss that hurts most. ` +
      `"B predicted from A measured" is its formula on the whole phase's CPU, u_i + u_k / 2. ` +
      `Throttled: of the 100 ms CFS periods in which a server ran, those in which its quota ran out. Connections: client backends in bench, mean of 1 s samples (max_connections ${maxConnections}); the collector projected ${projectedConnections || '—'} of max_connections (its figure counts every client backend, the agent's own too). ` +
      `HAProxy weights seen: A ${weights(a)}; B ${weights(b)}. During B the collector counted ${lastB?.drained ?? '—'} member drained, and its figure for the two left was ${num(lastB?.failover.utilization_ratio, 3)} (losing ${lastB?.failover.lost ?? '—'}).`,
  );
  console.log(out.join('\n'));
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
