import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from './broker.js';
import { describeCluster, describeEvent, parseShownAnswer, type ShownAnswer } from './describe.js';
import { SimulatedProc } from './load.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const REPLAY = fileURLToPath(new URL('../../../examples/replay', import.meta.url));
/** The recorded disk that degrades round by round (examples/replay/sdb/001.json … 004.json). */
const DEGRADING = 'sdb';
const CLUSTER = 'demo-pg';
const TOPIC_ROOT = 'harbinger/v1';
/**
 * The three members of the demo's cluster, each as busy as its simulated CPU says. Two get the
 * degrading disk, demo-db2's a round behind demo-db1's (its first recording twice): with the
 * agents started one after the other, demo-db1 asks first and the story reads the same each time.
 */
const HOSTS: ReadonlyArray<{ host: string; cpu: number; failing?: { lagRounds: number } }> = [
  { host: 'demo-db1', cpu: 0.3, failing: { lagRounds: 0 } },
  { host: 'demo-db2', cpu: 0.25, failing: { lagRounds: 1 } },
  { host: 'demo-db3', cpu: 0.2 },
];
/** How long to wait for a child to say where it listens. */
const START_TIMEOUT_MS = 20_000;

interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the address from the child's "serving …" log line. */
  address: Promise<string>;
  stderr: () => string;
}

/** Starts `harbinger <args>` and watches its JSON log for `listening` (the line that carries its address). */
function startChild(name: string, args: string[], listening: string): Child {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let buffer = '';
  child.stderr.on('data', (d) => (err += d));
  const address = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.stdout.on('data', (d) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        let entry: { msg?: string; address?: string; level?: string; collector?: string; reason?: string; err?: { message?: string } };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === listening && entry.address) {
          clearTimeout(timer);
          resolve(entry.address);
        } else if (entry.level === 'error' || entry.level === 'fatal') {
          const detail = [entry.collector, entry.reason, entry.err?.message].filter(Boolean).join(', ');
          process.stderr.write(`  ${name}: ${entry.msg}${detail ? ` (${detail})` : ''}\n`);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready: ${err.trim()}`));
    });
  });
  // A rejection nobody awaits yet (the demo awaits all addresses together) is not a crash.
  address.catch(() => {});
  return { name, process: child, address, stderr: () => err };
}

const url = (address: string, path: string) => `http://127.0.0.1:${address.split(':').pop()}${path}`;

/**
 * A host's own replay directory: the healthy recordings of examples/replay (re-read every
 * round) and, for a failing host, the degrading disk's rounds, its first one repeated
 * `lagRounds` times (000-1.json … sort before 001.json) so that it fails that many rounds later.
 */
async function replayDirectory(dir: string, failing: { lagRounds: number } | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(REPLAY, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.json')) await copyFile(join(REPLAY, entry.name), join(dir, entry.name));
  }
  if (!failing) return;
  const rounds = join(dir, DEGRADING);
  await cp(join(REPLAY, DEGRADING), rounds, { recursive: true });
  const first = (await readdir(rounds)).filter((f) => f.endsWith('.json')).sort()[0];
  for (let i = 1; first && i <= failing.lagRounds; i++) await copyFile(join(rounds, first), join(rounds, `000-${i}.json`));
}

/**
 * `npm run demo`: an embedded MQTT broker, a cluster of three agents replaying recorded SMART
 * data in which the data disk of two of them degrades round by round, and a collector that lets
 * only one of them drain at a time. The events and the collector's answers are printed as they
 * arrive. No root, database or broker needed; Ctrl-C stops everything and removes the temporary
 * state.
 */
export async function runDemo(options: { intervalSeconds: number }): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'harbinger-demo-'));
  const broker = await startEmbeddedBroker();
  const interval = `${options.intervalSeconds}s`;
  const children: Child[] = [];
  const loads: SimulatedProc[] = [];
  let subscriber: mqtt.MqttClient | undefined;
  let stopping = false;

  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    subscriber?.end(true);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve();
            const force = setTimeout(() => c.process.kill('SIGKILL'), 5000);
            c.process.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            c.process.kill('SIGTERM');
          }),
      ),
    );
    for (const load of loads) load.stop();
    await broker.close();
    await rm(work, { recursive: true, force: true });
    process.stdout.write(code === 0 ? `\nstopped: ${HOSTS.length} agents, collector and broker; temporary state removed.\n` : '');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  // Until the addresses are printed, what arrives waits here: the console listens from before the
  // first agent starts, so no event of the story is missed, and prints it after the addresses.
  const pending: string[] = [];
  let printing = false;
  const say = (text: string) => (printing ? process.stdout.write(text) : pending.push(text));

  // The collector's answers, retained per host: the cluster's state is the set of them.
  const answers = new Map<string, ShownAnswer>();
  /** Hosts whose drain_deferred event has been printed. */
  const deferralEvents = new Set<string>();
  let shown = '';
  let hinted = false;
  let clustersUrl = '';
  // Once the cluster holds a grant and a deferral, and the deferred host's event is printed too.
  const hintIfShown = () => {
    const members = [...answers.values()].filter((a) => a.cluster === CLUSTER);
    const granted = members.find((a) => a.state === 'granted');
    const deferred = members.find((a) => a.state === 'deferred' && deferralEvents.has(a.host));
    if (hinted || !granted || !deferred) return;
    hinted = true;
    say(closingHint(clustersUrl, granted.host, deferred.host));
  };
  const onAnswer = (host: string, payload: string) => {
    const answer = parseShownAnswer(payload);
    if (answer && answer.host === host) answers.set(host, answer);
    else answers.delete(host);
    const members = [...answers.values()].filter((a) => a.cluster === CLUSTER);
    // A renewed lease is the same answer again: only a new state or a new reason is news.
    const key = JSON.stringify(members.map((a) => [a.host, a.state, a.reason]).sort());
    if (key === shown) return;
    shown = key;
    say(describeCluster(CLUSTER, members, Date.now()));
    hintIfShown();
  };
  const onEvent = (payload: string) => {
    let event: { type?: string; source?: string };
    try {
      event = JSON.parse(payload);
      say(describeEvent(event));
    } catch {
      // Not an event we can show; the collector keeps it regardless.
      return;
    }
    if (event.type?.includes('.drain_deferred.') && event.source) {
      deferralEvents.add(event.source.replace('harbinger://', ''));
      hintIfShown();
    }
  };

  /** Starts a child and waits until it listens; from then on, its exit stops the demo. */
  const launch = async (name: string, args: string[], listening: string): Promise<string> => {
    const child = startChild(name, args, listening);
    children.push(child);
    const address = await child.address;
    child.process.once('exit', (code) => {
      if (stopping) return;
      process.stderr.write(`\n${name} stopped unexpectedly (${code}): ${child.stderr().trim()}\n`);
      void stop(1);
    });
    return address;
  };

  try {
    subscriber = mqtt.connect(broker.url, { protocolVersion: 4, clientId: 'harbinger-demo-console' });
    const grantTopic = new RegExp(`^${TOPIC_ROOT}/([^/]+)/grant$`);
    subscriber.on('message', (topic, payload) => {
      const grant = grantTopic.exec(topic);
      if (grant) onAnswer(grant[1]!, payload.toString());
      else onEvent(payload.toString());
    });
    await subscriber.subscribeAsync([`${TOPIC_ROOT}/+/events/#`, `${TOPIC_ROOT}/+/grant`], { qos: 1 });

    // The collector first, so that it answers the first request; then the agents one after the
    // other, each started once the one before listens: demo-db1's disk fails first however busy
    // this machine is.
    const collectorAddress = await launch(
      'collector',
      ['collector', '--mqtt.url', broker.url, '--fleet.listen-address', '127.0.0.1:0', '--fleet.group', '', '--state-dir', join(work, 'collector')],
      'serving the fleet API',
    );
    clustersUrl = url(collectorAddress, '/api/clusters');
    const common = ['--web.listen-address', '127.0.0.1:0', '--mqtt.url', broker.url];
    const agentAddresses: string[] = [];
    for (const { host, cpu, failing } of HOSTS) {
      const replay = join(work, host, 'replay');
      await replayDirectory(replay, failing);
      const proc = new SimulatedProc(join(work, host, 'proc'), cpu);
      proc.start();
      loads.push(proc);
      // The replayed disks are not this machine's: the storage collector would map their names onto
      // its real disks. Off, their roles are unknown, and the failing one drains as a data disk would.
      // Pressure every second and a report every 2 s: the collector has every member's CPU figure,
      // which a grant needs, before the first disk fails.
      agentAddresses.push(
        await launch(
          host,
          [
            'run',
            ...common,
            '--mqtt.host',
            host,
            '--state-dir',
            join(work, host, 'state'),
            '--smart.replay',
            replay,
            '--collector.smart.interval',
            interval,
            '--collector.smart.timeout',
            interval,
            '--no-collector.storage',
            '--path.procfs',
            proc.dir,
            '--collector.pressure.interval',
            '1s',
            '--collector.pressure.timeout',
            '1s',
            '--balance.cluster',
            CLUSTER,
            '--balance.report-interval',
            '2s',
          ],
          'serving /metrics, /health and /',
        ),
      );
    }

    const pad = Math.max(...HOSTS.map((h) => h.host.length), 'collector'.length) + 2;
    process.stdout.write(
      [
        `harbinger demo: an embedded MQTT broker, a collector, and three agents in cluster ${CLUSTER}.`,
        `Each agent replays recorded SMART data (examples/replay) every ${interval}: disk ${DEGRADING} of demo-db1, and a round`,
        `later of demo-db2, degrades round by round until it fails; demo-db3 has only healthy disks. A host`,
        `that would drain asks the collector first, and it lets 1 host of the cluster out at a time`,
        `(fleet.clusters.max_drained). The hosts' CPU is simulated: ${HOSTS.map((h) => `${h.host} ${Math.round(h.cpu * 100)}%`).join(', ')}.`,
        '',
        ...HOSTS.map((h, i) => `  ${h.host.padEnd(pad)}${url(agentAddresses[i]!, '/health')}   ${url(agentAddresses[i]!, '/metrics')}`),
        `  ${'collector'.padEnd(pad)}${url(collectorAddress, '/')}   (fleet page, with the Clusters section)`,
        `  ${''.padEnd(pad)}${clustersUrl}   ${url(collectorAddress, '/api/maintenance')}   ${url(collectorAddress, '/maintenance.ics')}`,
        `  ${'broker'.padEnd(pad)}${broker.url}   (mosquitto_sub -h 127.0.0.1 -p ${broker.url.split(':').pop()} -t 'harbinger/#' -v)`,
        `  ${'state'.padEnd(pad)}${work}   (removed when the demo stops)`,
        '',
        'Events and the cluster as they change (Ctrl-C stops everything):',
        '',
      ].join('\n'),
    );
    printing = true;
    for (const text of pending.splice(0)) process.stdout.write(text);
  } catch (err) {
    process.stderr.write(`harbinger demo: ${(err as Error).message}\n`);
    await stop(1);
  }
}

/** What the deferral means and what to do about it: printed once, when the demo has shown it. */
function closingHint(clustersUrl: string, granted: string, deferred: string): string {
  return [
    '',
    `That is what the demo shows: two data disks are failing, but only ${granted} is drained. ${deferred}`,
    `stays in the pool and keeps serving, because with both out cluster ${CLUSTER} would be down to one host.`,
    `  see it:        curl -s ${clustersUrl}`,
    '                 (per member: state, load, request and answer; granted, deferred with the reason)',
    `  an operator:   replaces the disk in ${granted} now (it serves nothing) and brings it back; its grant is`,
    `                 released and ${deferred}'s drain is granted next. If ${deferred}'s disk cannot wait, take it`,
    `                 out by hand on that host ("harbinger balance drain --reason …"): the operator has the last word.`,
    'The agents keep running; Ctrl-C stops the demo.',
    '',
    '',
  ].join('\n');
}
