// Shared by the benchmark scripts: start processes, scrape with keep-alive, quantiles.
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
process.on('SIGINT', () => process.exit(130));

/** Starts a process that must keep running until `stopAll()`. */
export function start(name, command, args, env = process.env) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  children.push(child);
  child.on('exit', (code) => {
    if (!stopping) {
      console.error(`${name} exited early (${code}): ${stderr.slice(-500)}`);
      process.exit(1);
    }
  });
  return child;
}

export function stopAll() {
  stopping = true;
  children.forEach((c) => c.kill('SIGTERM'));
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
