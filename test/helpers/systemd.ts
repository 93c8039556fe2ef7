import type { ExecutionContext } from 'ava';
import { execFile, type ExecFileException } from 'node:child_process';
import { join } from 'node:path';
import { access, readFile } from 'node:fs/promises';

// Compiled to dist/test/; ava runs from the repository root.
const REPO = process.cwd();

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  missing: boolean;
}

/** Runs a command to completion; never throws for a non-zero exit. `missing`: not installed. */
export function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: REPO, env, maxBuffer: 16 << 20, timeout: 150_000 }, (err: ExecFileException | null, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), missing: err?.code === 'ENOENT' });
    });
  });
}

/** A unit file's [Service]/[Unit]/[Install] settings, each key with all its values in order. */
export async function unitSettings(file: string): Promise<Map<string, string[]>> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const raw of (await readFile(file, 'utf8')).split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not a setting: ${line}`);
    const key = `${section}.${line.slice(0, eq)}`;
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1)]);
  }
  return settings;
}

export const words = (values: string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);

/** `systemd-analyze security --offline=true` of a unit file: its overall exposure, the ✗ lines, or missing. */
export async function exposure(file: string): Promise<{ missing: true } | { missing: false; level: number | undefined; output: string; failing: string }> {
  const result = await run('systemd-analyze', ['security', '--offline=true', file]);
  if (result.missing) return { missing: true };
  const match = /Overall exposure level for \S+: ([0-9.]+)/.exec(result.stdout);
  return {
    missing: false,
    level: match ? Number(match[1]) : undefined,
    output: `${result.stdout}\n${result.stderr}`,
    failing: result.stdout
      .split('\n')
      .filter((l) => l.startsWith('✗'))
      .join('\n'),
  };
}

/** `systemd-analyze verify` problems, but the binary not installed here; undefined when systemd-analyze is missing. */
export async function verifyProblems(file: string): Promise<string[] | undefined> {
  const result = await run('systemd-analyze', ['verify', file]);
  if (result.missing) return undefined;
  // Unknown keys, bad values and bad dependencies are reported; the agent itself is only
  // there once installed.
  return `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Command \/usr\/lib\/harbinger\/bin\/harbinger is not executable/.test(l));
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The environment a sysadmin runs install.sh in: without npm's script variables or harbinger settings. */
export function installEnv(destdir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|HARBINGER_)/i.test(k)) env[k] = v;
  env.DESTDIR = destdir;
  return env;
}

/** Runs scripts/install.sh with these arguments in `env`, failing the test (with its output) unless it exits 0. */
export function installer(t: ExecutionContext, env: NodeJS.ProcessEnv): (...args: string[]) => Promise<Run> {
  const script = join(REPO, 'scripts/install.sh');
  return async (...args: string[]) => {
    const result = await run('bash', [script, ...args], env);
    if (result.code !== 0) t.log(result.stdout, result.stderr);
    t.is(result.code, 0, `install.sh ${args.join(' ')} failed`);
    return result;
  };
}
