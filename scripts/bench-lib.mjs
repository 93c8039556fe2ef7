// Shared by the benchmark scripts: start processes, undo what a run made (also on Ctrl-C), scrape
// with keep-alive, quantiles.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = [];
let stopping = false;
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

// What a run made that must not outlive it (servers, temporary directories, cgroups): undone in
// reverse order by cleanup(), which the script awaits at its end, and which an interrupt
// (Ctrl-C, SIGTERM) or a server that dies early runs before exiting. Only the 'exit' handler
// above runs on process.exit(), and it cannot wait for anything, so exiting straight away would
// leave directories and cgroups behind. A second Ctrl-C exits at once.
const cleanups = [];
let cleaning;
export const onCleanup = (fn) => void cleanups.push(fn);

export function cleanup() {
  cleaning ??= (async () => {
    // The long-running processes first: they use what the cleanups remove.
    await stopAll();
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()();
      } catch (err) {
        console.error(`cleanup: ${err instanceof Error ? err.message : err}`);
      }
    }
  })();
  return cleaning;
}

/** Cleans up, then exits with `code` (a second call while cleaning exits at once). */
export function cleanupAndExit(code) {
  if (cleaning) process.exit(code);
  void cleanup().finally(() => process.exit(code));
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (!cleaning) console.error(`\n${signal}: cleaning up…`);
    cleanupAndExit(130);
  });
}

/** Starts a process that must keep running until `stopAll()`; its early exit ends the run. */
export function start(name, command, args, env = process.env) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  child.output = () => stderr;
  children.push(child);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited early (${code ?? signal}): ${stderr.slice(-500)}`);
      cleanupAndExit(1);
    }
  });
  return child;
}

/** SIGTERM to every process `start()` started; resolves when they have exited (SIGKILL after 5 s). */
export function stopAll() {
  stopping = true;
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  return Promise.all(
    running.map(
      (c) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

/**
 * Runs a program to its end: { code, stdout, stderr }. It is killed if the run is cleaned up
 * first (so Ctrl-C during a pgbench run does not leave it behind).
 */
export function runToEnd(command, args, { env = process.env, cwd, onSpawn } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd });
    onSpawn?.(child);
    const kill = () => child.kill('SIGKILL');
    process.on('exit', kill);
    onCleanup(kill);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('exit', kill);
      resolve({ code: code ?? signal, stdout, stderr });
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns something other than undefined (errors count as not yet). */
export async function waitFor(what, probe, timeoutMs = 30_000, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(stepMs);
  }
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** One GET of /metrics: milliseconds, bytes, status, body. */
export function scrape(port, path = '/metrics') {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    http
      .get({ host: '127.0.0.1', port, path, agent: keepAlive }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: body.length, status: res.statusCode, body: body.toString() });
        });
      })
      .on('error', reject);
  });
}

export async function waitServing(port) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await scrape(port)).status === 200) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing serves on ${port}`);
}

export const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Median and p99 of interleaved scrapes of several ports, so all see the same machine state. */
export async function interleavedLatency(ports, count) {
  const times = ports.map(() => []);
  const bytes = ports.map(() => 0);
  for (let i = 0; i < count; i++) {
    for (const [j, port] of ports.entries()) {
      const r = await scrape(port);
      times[j].push(r.ms);
      bytes[j] = r.bytes;
    }
  }
  return times.map((t, j) => {
    t.sort((a, b) => a - b);
    return { median: quantile(t, 0.5), p99: quantile(t, 0.99), bytes: bytes[j] };
  });
}
