import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { repoPath, tempDir } from './tmp.js';
import { waitFor } from './tools.js';

export interface RunningAgent extends HarbingerProcess {
  url: string;
}

export const CLI = repoPath('dist/src/cli.js');

export interface HarbingerProcess {
  process: ChildProcess;
  /** The port from the process's own "serving …" log line. */
  port: number;
  logs(): Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<number | string>;
}

/**
 * Runs the built CLI (`harbinger <args>`) with only PATH from the environment, and waits for the
 * log line `listening` that carries the address it bound (it listens on port 0, so tests never
 * race for ports). Killed at the end of the test. Its state directory is a fresh temporary one
 * (`HARBINGER_STATE_DIR`, which a test's own `--state-dir` or env overrides): the example config
 * names /var/lib/harbinger, and a test never writes, or reads, the host's.
 */
export async function startHarbinger(t: ExecutionContext, args: string[], env: Record<string, string>, listening: string): Promise<HarbingerProcess> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: await harbingerEnv(t, args, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const port = await waitFor(
    `harbinger ${args[0]} to listen`,
    async () => {
      if (child.exitCode !== null) throw new Error(`harbinger ${args[0]} exited ${child.exitCode}: ${err}${out}`);
      const line = logs().find((l) => l.msg === listening);
      return line ? Number(String(line.address).split(':').pop()) : undefined;
    },
    15_000,
  );
  return { process: child, port, logs, stderr: () => err, exited };
}

/** Starts the built agent (`harbinger run`) on a free port and waits until it serves. */
export async function startAgent(t: ExecutionContext, args: string[], env: Record<string, string> = {}): Promise<RunningAgent> {
  const agent = await startHarbinger(t, ['run', '--web.listen-address', '127.0.0.1:0', ...args], env, 'serving /metrics, /health and /');
  return { ...agent, url: `http://127.0.0.1:${agent.port}` };
}

/** Waits until the scheduler has a reading for a collector, so a scrape has data. */
export async function waitForCollector(agent: RunningAgent, collector: string): Promise<void> {
  await waitFor(`collector ${collector}`, async () => {
    const health = (await (await fetch(`${agent.url}/health`)).json()) as { collectors: Record<string, { success: boolean }> };
    return health.collectors[collector]?.success ? true : undefined;
  });
}

/** The example config pointed at a fixture /proc and /sys tree (test/fixtures/host/<tree>). */
export function fixtureArgs(tree = 'modern'): string[] {
  const root = repoPath('test/fixtures/host', tree);
  return ['--config', repoPath('examples/harbinger.yml'), '--path.procfs', `${root}/proc`, '--path.sysfs', `${root}/sys`];
}

/** The state directory a `harbinger <args>` child would use: --state-dir, then HARBINGER_STATE_DIR, then the config file's state_dir, then the default. */
export function effectiveStateDir(args: readonly string[], env: Record<string, string | undefined>): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') break;
    if (args[i] === '--state-dir') return args[i + 1]!;
    if (args[i]!.startsWith('--state-dir=')) return args[i]!.slice('--state-dir='.length);
  }
  if (env.HARBINGER_STATE_DIR) return env.HARBINGER_STATE_DIR;
  const at = args.indexOf('--config');
  const file = at >= 0 ? args[at + 1] : env.HARBINGER_CONFIG;
  if (file) {
    try {
      const line = /^state_dir:\s*(.+?)\s*$/m.exec(readFileSync(file, 'utf8'));
      if (line) return line[1]!.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
    } catch {
      // an unreadable file is the test's business: the default below applies
    }
  }
  return '/var/lib/harbinger';
}

/** Whether a path is under the OS temporary directory. */
export const underTmp = (path: string): boolean => resolve(path).startsWith(resolve(tmpdir()) + sep);

/**
 * The environment for a harbinger child: only PATH from the test run, the test's own variables,
 * and a fresh temporary HARBINGER_STATE_DIR unless the test gave its own. Throws (failing the test)
 * when the state directory the child would use is not under the OS temporary directory: a test
 * never writes, or reads, the host's /var/lib/harbinger. Without t, nothing is made: the test must
 * name its own temporary state directory.
 */
export async function harbingerEnv(t: ExecutionContext | undefined, args: readonly string[], env: Record<string, string> = {}): Promise<Record<string, string>> {
  const child: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  if (!underTmp(effectiveStateDir(args, child)) && child.HARBINGER_STATE_DIR === undefined && t) child.HARBINGER_STATE_DIR = await tempDir(t);
  const stateDir = effectiveStateDir(args, child);
  if (!underTmp(stateDir)) throw new Error(`harbinger ${args.join(' ')} would use the state directory ${stateDir}, not under ${tmpdir()}: tests use temporary directories only`);
  return child;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion (never throws for a non-zero exit), with harbingerEnv's environment. `wrap`: a command in front of node (setpriv …). */
export async function runHarbinger(t: ExecutionContext | undefined, args: string[], options: { env?: Record<string, string>; wrap?: string[]; maxBuffer?: number } = {}): Promise<CliRun> {
  const env = await harbingerEnv(t, args, options.env);
  const [file, ...argv] = [...(options.wrap ?? []), process.execPath, CLI, ...args];
  return new Promise((resolve) => {
    execFile(file!, argv, { env, maxBuffer: options.maxBuffer ?? 1 << 24 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** As promisify(execFile) on the built CLI (rejects on a non-zero exit, the error carrying code, stdout and stderr), with harbingerEnv's environment. */
export async function execHarbinger(t: ExecutionContext | undefined, args: string[], options: { maxBuffer?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const env = await harbingerEnv(t, args);
  return promisify(execFile)(process.execPath, [CLI, ...args], { env, maxBuffer: options.maxBuffer ?? 1 << 24 });
}
