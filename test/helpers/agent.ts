import { spawn, type ChildProcess } from 'node:child_process';
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
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HARBINGER_STATE_DIR: await tempDir(t), ...env },
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
