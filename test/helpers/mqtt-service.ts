import type { ExecutionContext } from 'ava';
import { COLLECTORS } from '../../src/collectors/index.js';
import { loadConfig } from '../../src/config/load.js';
import { MqttService, type MqttStatus } from '../../src/mqtt/service.js';
import type { MqttSettings } from '../../src/mqtt/settings.js';
import type { RiskLevel } from '../../src/predict/types.js';
import { captureLogger } from './logger.js';
import { prediction } from './predictions.js';
import { tempDir } from './tmp.js';
import { waitFor } from './tools.js';

/** MQTT settings as the agent would load them from these `HARBINGER_MQTT_*` variables. */
export async function mqttSettings(env: Record<string, string>): Promise<MqttSettings> {
  const config = await loadConfig({ collectors: COLLECTORS, env: { HARBINGER_MQTT_HOST: 'db1', ...env } });
  if (!config.mqtt) throw new Error('no mqtt settings: is HARBINGER_MQTT_URL set?');
  return config.mqtt;
}

export interface ServiceUnderTest {
  service: MqttService;
  /** The service's status (it is started, so there is one). */
  status(): MqttStatus;
  stateDir: string;
  logs: () => Array<Record<string, unknown>>;
  /** One prediction round: every disk at the given level, read at `atMs`. */
  round(levels: Record<string, RiskLevel>, atMs: number): void;
}

/** The agent's MQTT service in this process, with its outbox in a temporary state directory. */
export async function startService(t: ExecutionContext, settings: MqttSettings, stateDir?: string): Promise<ServiceUnderTest> {
  const dir = stateDir ?? (await tempDir(t));
  const { logger, lines } = captureLogger();
  const service = new MqttService(settings, { logger, version: '0.0.0-test', stateDir: dir, startedAtMs: Date.now(), now: Date.now });
  service.start();
  t.teardown(() => service.stop());
  return {
    service,
    status() {
      const status = service.status();
      if (!status) throw new Error('the MQTT service is not running');
      return status;
    },
    stateDir: dir,
    logs: lines,
    round(levels, atMs) {
      const disks = Object.entries(levels).map(([disk, level]) => prediction(disk, level, atMs));
      service.onPredictions({ disks, historyWriteErrors: 0 });
    },
  };
}

export const connected = (s: ServiceUnderTest, timeoutMs = 10_000) =>
  waitFor('the MQTT connection', async () => (s.status().connected ? true : undefined), timeoutMs);

export const disconnected = (s: ServiceUnderTest) =>
  waitFor('the MQTT connection to drop', async () => (s.status().connected ? undefined : true));

/** `n` disk names: d000, d001, … */
export const diskNames = (n: number) => Array.from({ length: n }, (_, i) => `d${String(i).padStart(3, '0')}`);

/** Every disk at the same level. */
export const allAt = (disks: readonly string[], level: RiskLevel) => Object.fromEntries(disks.map((d) => [d, level])) as Record<string, RiskLevel>;
