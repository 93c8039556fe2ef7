import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import { LISTEN_ADDRESS_PATTERN, parseListenAddress, type ListenAddress } from '../config/listen-address.js';
import type { ConfigProblem } from '../config/problems.js';
import type { Origin } from '../config/schema-problems.js';

const text = (description: string, comment: string, def = '') => ({ type: 'string', description, $comment: comment, default: def });

/**
 * The `fleet:` section: the central collector (`harbinger collector`). Its broker connection is
 * the `mqtt:` section's (url, credentials, TLS, topic root); the agent ignores this section.
 */
export const FLEET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen_address: {
      type: 'string',
      pattern: LISTEN_ADDRESS_PATTERN,
      description: 'an address like :10191, 127.0.0.1:10191 or [::1]:10191',
      $comment: "where the collector serves /api/fleet, /api/clusters, /api/maintenance, /maintenance.ics, /maintenance.csv, /metrics and the fleet page",
      default: ':10191',
    },
    web_config_file: text('a path to a web-config.yml', "the collector's TLS and basic auth (exporter-toolkit format); empty: plain HTTP, no auth"),
    group: {
      type: 'string',
      pattern: '^[^/#+]*$',
      description: 'a name without /, # or +, or empty',
      $comment: 'shared-subscription group: collectors with the same group split the events between them; empty: a plain subscription, for brokers without shared subscriptions (one collector only)',
      default: 'harbinger-fleet',
    },
    client_id: text('an MQTT client identifier', 'the collector\'s MQTT client id, unique per instance and stable across restarts (its persistent session); empty: harbinger-fleet-<hostname>'),
    session_expiry: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: 'a duration like 15s, 1m30s or 500ms',
      $comment: 'how long the broker keeps the collector\'s session, and queues its messages, while it is away',
      default: '7d',
    },
    history_days: {
      type: 'integer',
      minimum: 1,
      description: 'a whole number, 1 or more',
      $comment: 'days of event history kept in the store',
      default: 365,
    },
    clusters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_drained: {
          type: 'integer',
          minimum: 0,
          maximum: 10000,
          description: 'a whole number, 0 or more',
          $comment: "hosts of one cluster out of the pool at once (granted drains, operator drains, databases that do not answer, hosts gone) beyond which no drain is granted; 0: none is granted",
          default: 1,
        },
        max_utilization: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 1,
          description: 'a ratio above 0, at most 1',
          $comment: "a drain is granted only while every member left in the pool would stay at or below this share of its CPU and of its max_connections",
          default: 0.9,
        },
        lease: {
          type: 'string',
          pattern: DURATION_PATTERN,
          description: 'a duration like 15s, 1m30s or 500ms',
          $comment: 'a grant lasts this long unless the host renews it (each of its reports does); a host gone silent loses it, and counts as out of the pool while gone',
          default: '5m',
        },
        overrides: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['cluster'],
            properties: {
              cluster: { type: 'string', minLength: 1, pattern: '^[^/#+]*$' },
              max_drained: { type: 'integer', minimum: 0, maximum: 10000 },
              max_utilization: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
            },
          },
          description: 'a list of {cluster, max_drained, max_utilization}',
          $comment: 'per-cluster budgets that replace the defaults above for the clusters they name',
          default: [],
        },
      },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        driver: { type: 'string', enum: ['sqlite', 'postgres'], $comment: 'sqlite (one collector) or postgres (several collectors sharing one fleet state)', default: 'sqlite' },
        path: text('a path to a file', 'the SQLite file; empty: <state_dir>/fleet.sqlite'),
        dsn: text('a URL like postgres://user@host:5432/database', 'the PostgreSQL database (driver postgres), without the password'),
        password_file: text('a path to a file', 'file holding the PostgreSQL password (first line)'),
      },
    },
  },
} as const;

export type FleetStoreSettings = { driver: 'sqlite'; path: string } | { driver: 'postgres'; dsn: string; password?: string };

/** A cluster's drain budget. */
export interface ClusterBudget {
  maxDrained: number;
  maxUtilization: number;
}

export interface ClusterSettings extends ClusterBudget {
  leaseMs: number;
  /** Per-cluster budgets, by cluster name. */
  overrides: ReadonlyMap<string, ClusterBudget>;
}

export function budgetOf(settings: ClusterSettings, cluster: string): ClusterBudget {
  return settings.overrides.get(cluster) ?? { maxDrained: settings.maxDrained, maxUtilization: settings.maxUtilization };
}

/** The validated `fleet:` section. */
export interface FleetSettings {
  clusters: ClusterSettings;
  listenAddress: ListenAddress;
  webConfigFile: string | undefined;
  group: string;
  clientId: string;
  sessionExpirySeconds: number;
  historyDays: number;
  store: FleetStoreSettings;
}

/** MQTT 5's Session Expiry Interval is a four-byte number of seconds. */
const MAX_SESSION_EXPIRY_S = 0xffff_fffe;

/**
 * Turns the schema-valid raw section into settings. The password file is read now, so a missing
 * or unreadable one is a configuration problem (exit 78), not a retry loop at start.
 */
export function toFleetSettings(raw: Record<string, any>, stateDir: string, originOf: (path: string[]) => Origin, problems: ConfigProblem[]): FleetSettings {
  const problem = (key: string, message: string) => problems.push({ key: `fleet.${key}`, message, ...originOf(['fleet', ...key.split('.')]) });
  const listen = parseListenAddress(raw.listen_address);
  if (typeof listen === 'string') problem('listen_address', listen);
  const sessionExpirySeconds = Math.round(parseDuration(raw.session_expiry) / 1000);
  if (sessionExpirySeconds < 60) problem('session_expiry', `must be at least 1m, got "${raw.session_expiry}": a shorter session loses the events of a restart`);
  const s = raw.store;
  let store: FleetStoreSettings;
  if (s.driver === 'postgres') {
    if (s.path) problem('store.path', 'is for driver sqlite; with postgres the state is in fleet.store.dsn');
    if (!s.dsn) problem('store.dsn', 'is required with fleet.store.driver postgres (e.g. postgres://harbinger@db.example:5432/harbinger_fleet)');
    else checkDsn(s.dsn, (message) => problem('store.dsn', message));
    const password = s.password_file ? readFirstLine(s.password_file, (message) => problem('store.password_file', message)) : undefined;
    store = { driver: 'postgres', dsn: s.dsn, ...(password !== undefined ? { password } : {}) };
  } else {
    for (const key of ['dsn', 'password_file'] as const) {
      if (s[key]) problem(`store.${key}`, 'is for driver postgres; set fleet.store.driver to postgres, or leave it empty');
    }
    store = { driver: 'sqlite', path: s.path || join(stateDir, 'fleet.sqlite') };
  }
  const c = raw.clusters;
  const leaseMs = parseDuration(c.lease);
  if (leaseMs < 10_000) problem('clusters.lease', `must be at least 10s, got "${c.lease}": hosts renew it with each report (balance.report_interval, 30s by default)`);
  const overrides = new Map<string, ClusterBudget>();
  for (const [i, o] of (c.overrides as Array<Record<string, any>>).entries()) {
    if (overrides.has(o.cluster)) problem(`clusters.overrides`, `cluster ${o.cluster} is listed twice (entries ${[...overrides.keys()].indexOf(o.cluster) + 1} and ${i + 1})`);
    overrides.set(o.cluster, { maxDrained: o.max_drained ?? c.max_drained, maxUtilization: o.max_utilization ?? c.max_utilization });
  }
  return {
    clusters: { maxDrained: c.max_drained, maxUtilization: c.max_utilization, leaseMs, overrides },
    listenAddress: typeof listen === 'string' ? { port: 0 } : listen,
    webConfigFile: raw.web_config_file || undefined,
    group: raw.group,
    clientId: raw.client_id || `harbinger-fleet-${hostname()}`,
    sessionExpirySeconds: Math.min(sessionExpirySeconds, MAX_SESSION_EXPIRY_S),
    historyDays: raw.history_days,
    store,
  };
}

function checkDsn(dsn: string, problem: (message: string) => void): void {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    // A libpq key=value DSN (`host=db password=secret`) is not a URL; its password is what matters.
    if (/(^|\s)password\s*=/i.test(dsn)) problem('must not contain the password: put it in fleet.store.password_file');
    else problem('is not a URL like postgres://user@host:5432/database');
    return;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') problem(`must start with postgres:// or postgresql://, got "${url.protocol}//"`);
  // A DSN is shown in ps, in shell history and in support bundles; a password file is not.
  if (url.password || url.searchParams.has('password')) problem('must not contain the password: put it in fleet.store.password_file');
}

function readFirstLine(file: string, problem: (message: string) => void): string | undefined {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/)[0];
  } catch (err) {
    problem(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return undefined;
  }
}
