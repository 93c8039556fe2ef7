import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { captureLogger } from './logger.js';
import type { PostgresServer } from './postgres.js';
import { startHarbinger, type HarbingerProcess } from './agent.js';
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

export interface RunningCollector extends HarbingerProcess {
  url: string;
}

/**
 * Runs the built `harbinger collector` on a free port (it listens on port 0 and logs the port)
 * and waits until it serves and is connected to the broker.
 */
export async function startCollector(t: ExecutionContext, args: string[], env: Record<string, string> = {}): Promise<RunningCollector> {
  const collector = await startHarbinger(t, ['collector', '--fleet.listen-address', '127.0.0.1:0', ...args], env, 'serving the fleet API');
  const url = `http://127.0.0.1:${collector.port}`;
  await waitFor('the collector to connect to the broker', async () => {
    const health = (await (await fetch(`${url}/health`)).json()) as { mqtt_connected: boolean };
    return health.mqtt_connected ? true : undefined;
  });
  return { ...collector, url };
}

export async function getJson<T = any>(url: string): Promise<T> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
