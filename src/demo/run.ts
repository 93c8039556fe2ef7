import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from './broker.js';
import { describeEvent } from './describe.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const REPLAY = fileURLToPath(new URL('../../../examples/replay', import.meta.url));
const HOST = 'demo-db1';
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
        let entry: { msg?: string; address?: string; level?: string };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === listening && entry.address) {
          clearTimeout(timer);
          resolve(entry.address);
        } else if (entry.level === 'error' || entry.level === 'fatal') {
          process.stderr.write(`  ${name}: ${entry.msg}\n`);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready: ${err.trim()}`));
    });
  });
  return { name, process: child, address, stderr: () => err };
}

const url = (address: string, path: string) => `http://127.0.0.1:${address.split(':').pop()}${path}`;

/**
 * `npm run demo`: an embedded MQTT broker, an agent replaying recorded SMART data in which one
 * disk degrades round by round, and a collector; the events are printed as they arrive. No root,
 * database or broker needed; Ctrl-C stops everything and removes the temporary state.
 */
export async function runDemo(options: { intervalSeconds: number }): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'harbinger-demo-'));
  const broker = await startEmbeddedBroker();
  const interval = `${options.intervalSeconds}s`;
  const children: Child[] = [];
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
    await broker.close();
    await rm(work, { recursive: true, force: true });
    process.stdout.write(code === 0 ? '\nstopped: agent, collector and broker; temporary state removed.\n' : '');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const common = ['--web.listen-address', '127.0.0.1:0', '--mqtt.url', broker.url];
    // The replayed disks are not this machine's: the storage collector would map their names onto
    // its real disks. Off, their roles are unknown, and the failing one drains as a data disk would.
    const agent = startChild(
      'agent',
      [
        'run',
        ...common,
        '--mqtt.host',
        HOST,
        '--state-dir',
        join(work, 'agent'),
        '--smart.replay',
        REPLAY,
        '--collector.smart.interval',
        interval,
        '--collector.smart.timeout',
        interval,
        '--no-collector.storage',
      ],
      'serving /metrics, /health and /',
    );
    children.push(agent);
    const collector = startChild(
      'collector',
      ['collector', '--mqtt.url', broker.url, '--fleet.listen-address', '127.0.0.1:0', '--fleet.group', '', '--state-dir', join(work, 'collector')],
      'serving the fleet API',
    );
    children.push(collector);
    for (const c of children) {
      c.process.once('exit', (code) => {
        if (stopping) return;
        process.stderr.write(`\n${c.name} stopped unexpectedly (${code}): ${c.stderr().trim()}\n`);
        void stop(1);
      });
    }
    const [agentAddress, collectorAddress] = await Promise.all([agent.address, collector.address]);

    subscriber = mqtt.connect(broker.url, { protocolVersion: 4, clientId: 'harbinger-demo-console' });
    subscriber.on('message', (_topic, payload) => {
      try {
        process.stdout.write(describeEvent(JSON.parse(payload.toString())));
      } catch {
        // Not an event we can show; the collector keeps it regardless.
      }
    });
    subscriber.subscribe('harbinger/v1/+/events/#', { qos: 1 });

    process.stdout.write(
      [
        'harbinger demo: an embedded MQTT broker, one agent and one collector.',
        `The agent replays recorded SMART data (examples/replay) every ${interval}: disk sdb degrades round by round.`,
        '',
        `  agent      ${url(agentAddress, '/metrics')}   ${url(agentAddress, '/health')}`,
        `  collector  ${url(collectorAddress, '/')}   (fleet page)`,
        `             ${url(collectorAddress, '/api/maintenance')}   ${url(collectorAddress, '/maintenance.ics')}   ${url(collectorAddress, '/maintenance.csv')}`,
        `  broker     ${broker.url}   (mosquitto_sub -h 127.0.0.1 -p ${broker.url.split(':').pop()} -t 'harbinger/#' -v)`,
        `  state      ${work}   (removed when the demo stops)`,
        '',
        'Events as they arrive (Ctrl-C stops everything):',
        '',
      ].join('\n'),
    );
  } catch (err) {
    process.stderr.write(`harbinger demo: ${(err as Error).message}\n`);
    await stop(1);
  }
}
