import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import type { ConfigProblem } from '../config/problems.js';
import type { Origin } from '../config/schema-problems.js';

const duration = (comment: string, def: string) => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  description: 'a duration like 15s, 1m30s or 500ms',
  $comment: comment,
  default: def,
});
const text = (description: string, comment: string, def = '') => ({ type: 'string', description, $comment: comment, default: def });

/** The `mqtt:` section of the config schema. Every leaf has a default: MQTT is off until `url` is set. */
export const MQTT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    url: text('mqtt://, mqtts://, ws:// or wss:// with host and port', 'broker to publish predictions to; empty: MQTT off'),
    topic_root: {
      type: 'string',
      pattern: '^[^#+]+$',
      description: 'a topic prefix without wildcards',
      $comment: 'topics are <topic_root>/<host>/…',
      default: 'harbinger/v1',
    },
    host: {
      type: 'string',
      pattern: '^[^/#+]*$',
      description: 'a name without /, # or +',
      $comment: "this host's name in topics and event sources; empty: the system hostname",
      default: '',
    },
    client_id: text('an MQTT client identifier', 'empty: harbinger-<host>'),
    username: text('a user name', 'broker user name; empty: none'),
    password_file: text('a path to a file', 'file holding the broker password (first line); never put it on a command line'),
    protocol: { type: 'string', enum: ['auto', '5', '3.1.1'], $comment: 'MQTT version; auto tries 5, then 3.1.1', default: 'auto' },
    keepalive: duration('MQTT keepalive: how soon a dead connection is noticed (and the Last Will sent)', '30s'),
    connect_timeout: duration('give up on one connection attempt after this long', '10s'),
    reconnect_max_backoff: duration('longest wait between reconnection attempts (the wait doubles from 1s)', '1m'),
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ca: text('a path to a PEM file', 'CA certificates to verify the broker with; empty: the system CAs'),
        cert: text('a path to a PEM file', 'client certificate, for brokers that require one'),
        key: text('a path to a PEM file', 'private key of the client certificate'),
        server_name: text('a host name', "name to verify in the broker's certificate; empty: the URL's host"),
      },
    },
    outbox: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_events: {
          type: 'integer',
          minimum: 1,
          description: 'a whole number, 1 or more',
          $comment: 'events kept while the broker is unreachable; past this the oldest are dropped (and counted)',
          default: 100_000,
        },
      },
    },
    events: {
      type: 'object',
      additionalProperties: false,
      properties: {
        settle: duration('a lower risk level is published only after holding this long (rises are published at once)', '24h'),
      },
    },
  },
} as const;

export type MqttProtocol = 'auto' | '5' | '3.1.1';

export interface MqttTls {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

/** The validated `mqtt:` section; undefined in Config when no URL is set. */
export interface MqttSettings {
  url: string;
  topicRoot: string;
  host: string;
  clientId: string;
  username?: string;
  /** Read from password_file at load, so an unreadable file is a config error, not a silent retry loop. */
  password?: string;
  protocol: MqttProtocol;
  keepaliveSeconds: number;
  connectTimeoutMs: number;
  reconnectMaxBackoffMs: number;
  tls: MqttTls;
  outboxMaxEvents: number;
  settleMs: number;
}

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/**
 * Turns the schema-valid raw section into settings, reading the password and TLS files now so a
 * missing or unreadable one is reported with the other config problems (exit 78), not at connect.
 */
export async function toMqttSettings(
  raw: Record<string, any>,
  originOf: (path: string[]) => Origin,
  problems: ConfigProblem[],
): Promise<MqttSettings | undefined> {
  const problem = (key: string, message: string) => problems.push({ key: `mqtt.${key}`, message, ...originOf(['mqtt', ...key.split('.')]) });
  const url = String(raw.url);
  if (url === '') return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    problem('url', `is not a URL: "${url}" (expected e.g. mqtt://broker.example:1883)`);
  }
  if (parsed) {
    if (!SCHEMES.has(parsed.protocol)) problem('url', `must start with mqtt://, mqtts://, ws:// or wss://, got "${parsed.protocol}//"`);
    if (parsed.username || parsed.password) problem('url', 'must not contain a user name or password: use mqtt.username and mqtt.password_file');
  }
  const host = raw.host || hostname();
  const readText = async (key: string, file: string): Promise<string | undefined> => {
    if (!file) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      problem(key, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return undefined;
    }
  };
  const password = (await readText('password_file', raw.password_file))?.split(/\r?\n/)[0];
  if (raw.password_file && !raw.username) problem('password_file', 'is set but mqtt.username is not: the broker needs both');
  const tls: MqttTls = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file: string = raw.tls[key];
    const content = await readText(`tls.${key}`, file);
    if (content !== undefined) tls[key] = content;
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) problem(tls.cert ? 'tls.key' : 'tls.cert', 'a client certificate needs both tls.cert and tls.key');
  if (raw.tls.server_name) tls.serverName = raw.tls.server_name;
  const tlsInUse = parsed?.protocol === 'mqtts:' || parsed?.protocol === 'wss:';
  if (!tlsInUse && (tls.ca || tls.cert || tls.serverName)) {
    problem('url', 'TLS settings are given but the URL is not mqtts:// or wss://: the connection would not be encrypted');
  }
  return {
    url,
    topicRoot: String(raw.topic_root).replace(/\/+$/, ''),
    host,
    clientId: raw.client_id || `harbinger-${host}`,
    ...(raw.username ? { username: raw.username } : {}),
    ...(password !== undefined ? { password } : {}),
    protocol: raw.protocol,
    keepaliveSeconds: Math.max(1, Math.round(parseDuration(raw.keepalive) / 1000)),
    connectTimeoutMs: parseDuration(raw.connect_timeout),
    reconnectMaxBackoffMs: Math.max(1000, parseDuration(raw.reconnect_max_backoff)),
    tls,
    outboxMaxEvents: raw.outbox.max_events,
    settleMs: parseDuration(raw.events.settle),
  };
}
