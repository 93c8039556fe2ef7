import type { CollectorDefinition } from '../collectors/types.js';
import { LOG_LEVELS } from '../logger.js';
import { DURATION_PATTERN } from './duration.js';
import { LISTEN_ADDRESS_PATTERN } from './listen-address.js';
import { MQTT_SCHEMA } from '../mqtt/settings.js';
import { BALANCE_SCHEMA } from '../balance/settings.js';
import { FLEET_SCHEMA } from '../fleet/settings.js';
import { PREDICT_SCHEMA } from '../predict/settings.js';

const duration = (description: string, def: string) => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  description: 'a duration like 15s, 1m30s or 500ms',
  $comment: description,
  default: def,
});

/**
 * The whole configuration as one JSON Schema. Every leaf has a default, so the schema is also the
 * reference for flags (`--web.listen-address`), env vars (`HARBINGER_WEB_LISTEN_ADDRESS`) and docs.
 */
export function buildSchema(collectors: readonly CollectorDefinition[]): object {
  const collectorProperties: Record<string, object> = {};
  for (const c of collectors) {
    collectorProperties[c.name] = {
      type: 'object',
      additionalProperties: false,
      $comment: c.description,
      properties: {
        enabled: { type: 'boolean', description: `run the ${c.name} collector`, default: c.defaults.enabled },
        interval: duration(c.once ? 'retry interval when the one read at start fails' : 'how often to collect', c.defaults.interval),
        timeout: duration('give up on one collection after this long', c.defaults.timeout),
        ...c.options,
      },
    };
  }
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      web: {
        type: 'object',
        additionalProperties: false,
        properties: {
          listen_address: {
            type: 'string',
            pattern: LISTEN_ADDRESS_PATTERN,
            description: 'an address like :10190, 127.0.0.1:10190 or [::1]:10190',
            $comment: 'where /metrics, /health and / are served',
            default: ':10190',
          },
          config_file: {
            type: 'string',
            description: 'a path to a web-config.yml',
            $comment: 'exporter-toolkit web config (TLS, basic auth); empty: plain HTTP, no auth',
            default: '',
          },
        },
      },
      log: {
        type: 'object',
        additionalProperties: false,
        properties: {
          level: { type: 'string', enum: [...LOG_LEVELS], $comment: 'log level', default: 'info' },
        },
      },
      path: {
        type: 'object',
        additionalProperties: false,
        properties: {
          procfs: { type: 'string', description: 'a directory', $comment: 'procfs mount point', default: '/proc' },
          sysfs: { type: 'string', description: 'a directory', $comment: 'sysfs mount point', default: '/sys' },
        },
      },
      state_dir: {
        type: 'string',
        description: 'a directory',
        $comment: 'where disk history is kept (systemd StateDirectory=); unwritable: history is kept in memory only',
        default: '/var/lib/harbinger',
      },
      predict: PREDICT_SCHEMA,
      mqtt: MQTT_SCHEMA,
      balance: BALANCE_SCHEMA,
      fleet: FLEET_SCHEMA,
      collector: { type: 'object', additionalProperties: false, properties: collectorProperties },
    },
  };
}

export interface Leaf {
  path: string[];
  type: string;
  default: unknown;
  help: string;
}

/** Every settable key in schema order: the basis for flags, env vars and the reference doc. */
export function leaves(schema: object, prefix: string[] = []): Leaf[] {
  const node = schema as {
    type?: string;
    properties?: Record<string, object>;
    items?: { type?: string };
    default?: unknown;
    $comment?: string;
    description?: string;
  };
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties).flatMap(([key, child]) => leaves(child, [...prefix, key]));
  }
  return [
    {
      path: prefix,
      // A list of objects (database targets) is one key; its flag and env var take a JSON array.
      type: node.type === 'array' && node.items?.type === 'object' ? 'json' : (node.type ?? 'string'),
      default: node.default,
      help: node.$comment ?? node.description ?? '',
    },
  ];
}

export const flagName = (path: readonly string[]): string => path.map((p) => p.replace(/_/g, '-')).join('.');
export const envName = (path: readonly string[]): string =>
  `HARBINGER_${path.map((p) => p.replace(/[^A-Za-z0-9]/g, '_')).join('_').toUpperCase()}`;
