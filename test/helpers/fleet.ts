import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { captureLogger } from './logger.js';
import type { PostgresServer } from './postgres.js';
import { CLI } from './agent.js';
import { tempDir } from './tmp.js';
import { waitFor } from './tools.js';
import type { FleetStoreSettings } from '../../src/fleet/settings.js';
import { createStore, type FleetStore } from '../../src/fleet/store.js';

export interface FleetDatabase {
  /** Without the password, as fleet.store.dsn wants it. */
  dsn: string;
  password: string;
  passwordFile: string;
}

/** A database and a role of its own on the test's PostgreSQL, for one fleet store. */
export async function fleetDatabase(t: ExecutionContext, server: PostgresServer): Promise<FleetDatabase> {
  const name = `fleet_${randomBytes(6).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  await server.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  await server.query(`CREATE DATABASE ${name} OWNER ${name}`);
  const passwordFile = join(await tempDir(t), 'fleet-store.pw');
  await writeFile(passwordFile, `${password}\n`);
  return { dsn: server.dsn(name, name), password, passwordFile };
}

/** An open store, closed when the test ends. */
export async function openStore(t: ExecutionContext, settings: FleetStoreSettings): Promise<FleetStore> {
  const store = await createStore(settings, captureLogger().logger);
  await store.open();
  t.teardown(() => store.close());
  return store;
}

export interface RunningCollector {
  process: ChildProcess;
  url: string;
  logs(): Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<number | string>;
}

/**
 * Runs the built `harbinger collector` on a free port (it listens on port 0 and logs the port)
 * and waits until it serves and is connected to the broker.
 */
export async function startCollector(t: ExecutionContext, args: string[], env: Record<string, string> = {}): Promise<RunningCollector> {
  const child = spawn(process.execPath, [CLI, 'collector', '--fleet.listen-address', '127.0.0.1:0', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
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
    'the collector to listen',
    async () => {
      if (child.exitCode !== null) throw new Error(`collector exited ${child.exitCode}: ${err}${out}`);
      const line = logs().find((l) => l.msg === 'serving the fleet API');
      return line ? Number(String(line.address).split(':').pop()) : undefined;
    },
    15_000,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the collector to connect to the broker', async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { mqtt_connected: boolean };
    return health.mqtt_connected ? true : undefined;
  });
  return { process: child, url, logs, stderr: () => err, exited };
}

export async function getJson<T = any>(url: string): Promise<T> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
