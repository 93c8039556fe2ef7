import type { ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './tools.js';

export interface MosquittoOptions {
  /** user → password; anonymous clients are refused when given. */
  users?: Record<string, string>;
  /** PEM file paths for an mqtts listener (instead of plain mqtt). */
  tls?: { ca: string; cert: string; key: string };
  /**
   * Keep sessions and retained messages across a restart (saved at SIGTERM), so a subscriber with
   * a persistent session misses nothing while the broker is down; queues are unbounded.
   */
  persistence?: boolean;
  /** Extra mosquitto.conf lines for the listener. */
  extra?: string;
}

export interface Mosquitto {
  port: number;
  url: string;
  /** Stops the broker (SIGTERM, waits for it to exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  log(): string;
}

/** Brokers still running: killed if the test process exits without its teardown (a crashed worker). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** The Debian package's binary lives in /usr/sbin, which a non-root PATH may lack. */
function mosquittoBinary(): string {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('mosquitto is not installed: run "apt-get install mosquitto" (or scripts/test.sh as root, which installs it)');
  }
}

/**
 * A real Mosquitto with its own config in a temporary directory, on a free loopback port; without
 * `persistence` a restart forgets retained messages, as a broker replaced after a crash would.
 * Stopped at the end of the test whatever happens.
 */
export async function startMosquitto(t: ExecutionContext, options: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = mosquittoBinary();
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-mosquitto-'));
  const port = await freePort();
  const persistence = options.persistence ? ['persistence true', `persistence_location ${dir}/`, 'max_queued_messages 0'] : ['persistence false'];
  const lines = [`listener ${port} 127.0.0.1`, ...persistence, 'log_dest stdout', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
  // As root Mosquitto drops to user "mosquitto", who cannot read a private temporary directory.
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.users) {
    const file = join(dir, 'passwords');
    await writeFile(file, '');
    for (const [user, password] of Object.entries(options.users)) execFileSync('mosquitto_passwd', ['-b', file, user, password]);
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else {
    lines.push('allow_anonymous true');
  }
  if (options.tls) lines.push(`cafile ${options.tls.ca}`, `certfile ${options.tls.cert}`, `keyfile ${options.tls.key}`, 'tls_version tlsv1.2');
  if (options.extra) lines.push(options.extra);
  const conf = join(dir, 'mosquitto.conf');
  await writeFile(conf, `${lines.join('\n')}\n`);

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    const proc = spawn(binary, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    proc.stdout?.on('data', (d) => (output += d));
    proc.stderr?.on('data', (d) => (output += d));
    await waitFor(`mosquitto on port ${port}`, async () => {
      if (proc.exitCode !== null) throw new Error(`mosquitto exited ${proc.exitCode}: ${output}`);
      return (await canConnect(port)) ? true : undefined;
    });
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
  };
  t.teardown(async () => {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  await start();
  return { port, url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`, stop, start, log: () => output };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
