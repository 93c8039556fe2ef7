import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import type { ClusterSettings, FleetSettings, FleetStoreSettings } from '../../src/fleet/settings.js';
import { FleetCollector } from '../../src/fleet/service.js';
import type { WebConfig } from '../../src/web/webconfig.js';
import { captureLogger } from './logger.js';
import { mqttSettings } from './mqtt-service.js';
import { waitFor } from './tools.js';

export const ROOT = 'harbinger/v1';

/** fleet.clusters as the defaults give it. */
export const CLUSTER_SETTINGS: ClusterSettings = { maxDrained: 1, maxUtilization: 0.9, leaseMs: 300_000, overrides: new Map() };

export interface CollectorUnderTest {
  collector: FleetCollector;
  url: string;
  logs: () => Array<Record<string, unknown>>;
  stop: () => Promise<void>;
}

/** The collector in this process on port 0, its broker settings loaded as the CLI would. */
export async function startFleet(
  t: ExecutionContext,
  brokerUrl: string,
  store: FleetStoreSettings,
  options: { clientId?: string; group?: string; web?: WebConfig; clusters?: Partial<ClusterSettings>; clusterGraceMs?: number } = {},
): Promise<CollectorUnderTest> {
  const mqttConfig = await mqttSettings({ HARBINGER_MQTT_URL: brokerUrl, HARBINGER_MQTT_RECONNECT_MAX_BACKOFF: '2s' });
  const fleet: FleetSettings = {
    listenAddress: { host: '127.0.0.1', port: 0 },
    webConfigFile: undefined,
    group: options.group ?? 'harbinger-fleet',
    clientId: options.clientId ?? `fleet-test-${randomBytes(4).toString('hex')}`,
    sessionExpirySeconds: 600,
    historyDays: 365,
    store,
    clusters: { ...CLUSTER_SETTINGS, ...options.clusters },
  };
  const { logger, lines } = captureLogger();
  const collector = new FleetCollector(
    { mqtt: mqttConfig, fleet, web: options.web },
    { logger, version: '0.0.0-test', ...(options.clusterGraceMs !== undefined ? { clusterGraceMs: options.clusterGraceMs } : {}) },
  );
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await collector.stop();
  };
  t.teardown(stop);
  await collector.start();
  const scheme = options.web?.tls ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${collector.port}`;
  await waitFor('the collector to connect', async () => (collector.health().mqtt_connected ? true : undefined));
  return { collector, url, logs: lines, stop };
}

/** A plain MQTT 5 client that publishes as the agents would (QoS 1; state retained). */
export async function publisher(t: ExecutionContext, brokerUrl: string): Promise<{ client: MqttClient; publish: (topic: string, payload: unknown, retain?: boolean) => Promise<void> }> {
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 5, clientId: `pub-${randomBytes(4).toString('hex')}`, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  return {
    client,
    publish: async (topic, payload, retain = false) => {
      await client.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1, retain });
    },
  };
}

/** Payloads as an agent publishes them (docs/schemas). */
export const payloads = {
  status: (host: string, state: 'online' | 'offline', boot = 1) => ({
    state,
    host,
    version: '0.1.0',
    started: '2026-11-28T18:17:59.028Z',
    boot,
    ...(state === 'offline' ? { reason: 'connection lost' } : { time: '2026-11-28T18:17:59.085Z' }),
  }),
  disk: (host: string, disk: string, level: string, lastReading = '2026-11-28T18:18:00.070Z', extra: Record<string, unknown> = {}) => ({
    host,
    disk,
    device: 'sdb',
    model: 'Hitachi HDS721050DLE630',
    serial: `SER-${host}-${disk}`,
    protocol: 'ata',
    level,
    predicted_level: level,
    probability: level === 'failing' ? 0.5 : level === 'degraded' ? 0.132 : 0.01,
    horizon_days: 30,
    ...(level === 'failing' || level === 'degraded' ? { replace_by: level === 'failing' ? '2026-12-05' : '2026-12-08', episode_started: '2026-11-28T18:18:00.070Z' } : {}),
    evidence: level === 'ok' ? [] : [{ signal: 'pending_sectors', value: 8, note: 'New pending (unreadable) sectors: run a long self-test.' }],
    last_reading: lastReading,
    ...extra,
  }),
  event: (host: string, id: string, level = 'degraded') => ({
    id,
    time: '2026-11-28T18:18:00.073Z',
    type: 'io.harbinger.disk.failure_predicted.v1',
    source: `harbinger://${host}`,
    specversion: '1.0',
    datacontenttype: 'application/json',
    subject: 'wwn-1',
    data: { host, disk: 'wwn-1', device: 'sdb', level, previous_level: 'ok', probability: 0.132, episode_started: '2026-11-28T18:18:00.070Z' },
  }),
};
