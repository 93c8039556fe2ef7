import type { ExecutionContext } from 'ava';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Servers this process started: killed if it exits without its teardown (a crashed test worker). */
const RUNNING = new Set<ChildProcess>();
process.on('exit', () => RUNNING.forEach((child) => child.kill('SIGKILL')));

/** nobody:nogroup, which database servers accept to run as (they refuse root). */
const NOBODY = 65534;
const asRoot = () => process.getuid?.() === 0;

/**
 * A program of a database package: on PATH, in `pg_config --bindir`, or in the versioned
 * directories Debian uses (/usr/lib/postgresql/15/bin), newest first. Missing: an error naming
 * the Debian package, as requireTool does.
 */
export function findProgram(program: string, debianPackage: string, extraDirs: readonly string[] = []): string {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim());
  } catch {
    // not on PATH
  }
  for (const dir of extraDirs) candidates.push(join(dir, program));
  const found = candidates.find((p) => p && existsSync(p));
  if (found) return found;
  throw new Error(`${program} is not installed: run "apt-get install ${debianPackage}" (or scripts/test.sh as root, which installs it)`);
}

/** PostgreSQL's server programs: pg_config's bindir, then /usr/lib/postgresql/<newest>/bin. */
export function postgresBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // libpq-dev not installed
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^[0-9]+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => join(root, v, 'bin')));
  }
  return dirs;
}

/** A temporary directory the server's user owns; removed by `remove()`. */
export async function serverDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (asRoot()) await chown(dir, NOBODY, NOBODY);
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Makes files written as root in a server directory the server's. */
export async function giveToServer(...paths: string[]): Promise<void> {
  if (asRoot()) for (const p of paths) await chown(p, NOBODY, NOBODY);
}

/** argv that runs a program as the unprivileged server user when we are root (setpriv execs: same pid). */
function asServerUser(program: string, args: readonly string[]): [string, string[]] {
  if (!asRoot()) return [program, [...args]];
  return [findProgram('setpriv', 'util-linux'), [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', program, ...args]];
}

/** Runs a setup program (initdb, mariadb-install-db) to the end, as the server user. */
export async function runAsServerUser(program: string, args: readonly string[], env: Record<string, string>): Promise<string> {
  const [command, argv] = asServerUser(program, args);
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${program} exited ${code}:\n${output.slice(-2000)}`))));
  });
}

/**
 * A server process that can be stopped and started again on the same port and data (to inject
 * outages). `ready` is a line of its log that says it accepts connections.
 */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(
    private readonly name: string,
    private readonly program: string,
    private readonly args: readonly string[],
    private readonly env: Record<string, string>,
    private readonly ready: RegExp,
    private readonly stopSignal: NodeJS.Signals,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** The server's own log so far (for failure messages). */
  output(): string {
    return this.log;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.child) return;
    const [command, argv] = asServerUser(this.program, this.args);
    const child = spawn(command, argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    RUNNING.add(child);
    const from = this.log.length;
    const collect = (d: Buffer) => (this.log += d);
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const gone = () => {
      RUNNING.delete(child);
      if (this.child === child) this.child = undefined;
    };
    child.once('exit', gone);
    child.once('error', (err) => {
      this.log += `\n${String(err)}\n`;
      gone();
    });
    const deadline = Date.now() + timeoutMs;
    while (!this.ready.test(this.log.slice(from))) {
      if (this.child !== child) throw new Error(`${this.name} exited while starting:\n${this.log.slice(from).slice(-3000)}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} did not become ready in ${timeoutMs} ms:\n${this.log.slice(from).slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Clean shutdown (PostgreSQL SIGINT: fast; MariaDB SIGTERM), waiting for the process to end. */
  async stop(timeoutMs = 20_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(this.stopSignal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** Ends it now, for teardown. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }
}

/** Starts several servers at once; if one fails, those that started are destroyed before the error. */
export async function startAll<T extends { destroy(): Promise<void> }>(starts: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.destroy() : undefined)));
    throw failed.reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

interface Destroyable {
  destroy(): Promise<void>;
}

/** A server for one test file: started on first use, destroyed when the file's tests end. */
export function sharedServer<S extends Destroyable>(test: { after: { always: (fn: () => Promise<void>) => void } }, start: () => Promise<S>): () => Promise<S> {
  let server: Promise<S> | undefined;
  test.after.always(async () => {
    if (server) await (await server.catch(() => undefined))?.destroy();
  });
  return () => (server ??= start());
}

/** A server for one test, destroyed at its end. */
export async function serverForTest<S extends Destroyable>(t: ExecutionContext, start: () => Promise<S>): Promise<S> {
  const server = await start();
  t.teardown(() => server.destroy());
  return server;
}
