import { access } from 'node:fs/promises';
import type { CollectorDefinition, CollectorSettings } from '../collectors/types.js';
import type { LogLevel } from '../logger.js';
import { parseDuration } from './duration.js';
import { parseListenAddress, type ListenAddress } from './listen-address.js';
import { ConfigError, type ConfigProblem } from './problems.js';
import { buildSchema, envName, flagName, leaves, type Leaf } from './schema.js';
import { compileSchema, schemaProblems, type Origin } from './schema-problems.js';
import { readYamlSource, type YamlSource } from './yaml-source.js';
import { toMqttSettings, type MqttSettings } from '../mqtt/settings.js';
import { toBalanceSettings, type BalanceSettings } from '../balance/settings.js';
import { toFleetSettings, type FleetSettings } from '../fleet/settings.js';
import { toPredictSettings, type PredictSettings } from '../predict/settings.js';

export const DEFAULT_CONFIG_FILE = '/etc/harbinger/harbinger.yml';

export interface Config {
  /** The file that was read, or undefined when the default file does not exist. */
  file: string | undefined;
  web: { listenAddress: ListenAddress; configFile: string | undefined };
  log: { level: LogLevel };
  path: { procfs: string; sysfs: string };
  stateDir: string;
  predict: PredictSettings;
  /** Undefined when no broker URL is configured: MQTT is off. */
  mqtt: MqttSettings | undefined;
  balance: BalanceSettings;
  /** The central collector (`harbinger collector`); the agent does not use it. */
  fleet: FleetSettings;
  collector: Readonly<Record<string, CollectorSettings>>;
}

export interface LoadInput {
  collectors: readonly CollectorDefinition[];
  /** `--config`; when absent, HARBINGER_CONFIG, then the default file if it exists. */
  configFile?: string;
  /** Parsed flags keyed by flag name (`web.listen-address`); undefined entries are unset. */
  flags?: Readonly<Record<string, unknown>>;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Env vars that are not config keys but are still ours: the extra flags of the agent's and the
 * collector's systemd units (from /etc/default/harbinger{,-collector}, which systemd also puts in
 * the process environment), and bin/harbinger's choice of node.
 */
const RESERVED_ENV = new Set(['HARBINGER_CONFIG', 'HARBINGER_OPTS', 'HARBINGER_COLLECTOR_OPTS', 'HARBINGER_NODE']);

/**
 * Loads defaults < file < env < flags, validates everything at once and returns a frozen Config.
 * Throws ConfigError listing every problem, each naming its key and where its value came from.
 */
export async function loadConfig(input: LoadInput): Promise<Config> {
  const env = input.env ?? {};
  const schema = buildSchema(input.collectors);
  const keys = leaves(schema);
  const problems: ConfigProblem[] = [];
  let omitted = 0;

  let file = input.configFile ?? env.HARBINGER_CONFIG;
  if (file === undefined && (await exists(DEFAULT_CONFIG_FILE))) file = DEFAULT_CONFIG_FILE;
  let source: YamlSource | undefined;
  if (file !== undefined) {
    try {
      source = await readYamlSource(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      omitted += err.omitted;
    }
  }

  const merged: Record<string, unknown> = {};
  const origins = new Map<string, Origin>();
  for (const leaf of keys) setIn(merged, leaf.path, leaf.default);
  if (source) {
    if (isPlainObject(source.value)) {
      mergeInto(merged, source.value);
    } else {
      problems.push({ key: '', source: source.file, line: 1, message: 'the file must be a YAML mapping of keys (like `web:`)' });
    }
  }
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('HARBINGER_') || raw === undefined || RESERVED_ENV.has(name)) continue;
    const leaf = keys.find((l) => envName(l.path) === name);
    if (!leaf) {
      problems.push({ key: '', source: `env ${name}`, message: 'is not a harbinger setting (unset it, or check its spelling)' });
      continue;
    }
    const bad = (message: string) => problems.push({ key: leaf.path.join('.'), source: `env ${name}`, message });
    setIn(merged, leaf.path, coerce(raw, leaf, bad));
    origins.set(leaf.path.join('.'), { source: `env ${name}` });
  }
  for (const leaf of keys) {
    const value = input.flags?.[flagName(leaf.path)];
    if (value === undefined) continue;
    const bad = (message: string) => problems.push({ key: leaf.path.join('.'), source: `flag --${flagName(leaf.path)}`, message });
    setIn(merged, leaf.path, typeof value === 'string' ? coerce(value, leaf, bad) : value);
    origins.set(leaf.path.join('.'), { source: `flag --${flagName(leaf.path)}` });
  }

  const originOf = (path: string[]): Origin => {
    for (let n = path.length; n > 0; n--) {
      const origin = origins.get(path.slice(0, n).join('.'));
      if (origin) return origin;
    }
    if (source && hasIn(source.value, path)) return { source: source.file, ...source.locate(path) };
    // A key missing from a list item (a database target without `driver:`): point at the item.
    for (let n = path.length - 1; source && n > 0; n--) {
      if (/^[0-9]+$/.test(path[n - 1]!) && hasIn(source.value, path.slice(0, n))) return { source: source.file, ...source.locate(path.slice(0, n)) };
    }
    return { source: source ? source.file : 'default' };
  };

  const validate = compileSchema(schema);
  if (!validate(merged)) problems.push(...schemaProblems(validate.errors, originOf));
  if (problems.length > 0) throw new ConfigError(problems, omitted);

  const config = toConfig(merged, file === undefined ? undefined : file, input.collectors, env, originOf, problems);
  const mqtt = await toMqttSettings(merged.mqtt as Record<string, unknown>, originOf, problems);
  if (mqtt) config.mqtt = mqtt;
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function toConfig(
  raw: Record<string, any>,
  file: string | undefined,
  collectors: readonly CollectorDefinition[],
  env: Readonly<Record<string, string | undefined>>,
  originOf: (path: string[]) => Origin,
  problems: ConfigProblem[],
): Config {
  const listen = parseListenAddress(raw.web.listen_address);
  if (typeof listen === 'string') {
    problems.push({ key: 'web.listen_address', message: listen, ...originOf(['web', 'listen_address']) });
  }
  const collector: Record<string, CollectorSettings> = {};
  for (const definition of collectors) {
    const { enabled, interval, timeout, ...options } = raw.collector[definition.name];
    const intervalMs = parseDuration(interval);
    const timeoutMs = parseDuration(timeout);
    const at = (key: string) => originOf(['collector', definition.name, ...keyPath(key)]);
    if (intervalMs < 1000) {
      problems.push({ key: `collector.${definition.name}.interval`, message: `must be at least 1s, got "${interval}"`, ...at('interval') });
    }
    if (timeoutMs <= 0) {
      problems.push({ key: `collector.${definition.name}.timeout`, message: `must be more than 0, got "${timeout}"`, ...at('timeout') });
    } else if (timeoutMs > intervalMs && !definition.once) {
      // A collection still running when the next one is due would pile up behind it.
      problems.push({
        key: `collector.${definition.name}.timeout`,
        message: `must not be longer than the interval (${interval}), got "${timeout}"`,
        ...at('timeout'),
      });
    }
    for (const problem of definition.check?.(options, { intervalMs, timeoutMs, env }) ?? []) {
      problems.push({ key: `collector.${definition.name}.${problem.key}`, message: problem.message, ...at(problem.key) });
    }
    collector[definition.name] = { enabled, intervalMs, timeoutMs, options };
  }
  return {
    file,
    web: {
      listenAddress: typeof listen === 'string' ? { port: 0 } : listen,
      configFile: raw.web.config_file || undefined,
    },
    log: { level: raw.log.level },
    path: { procfs: raw.path.procfs, sysfs: raw.path.sysfs },
    stateDir: raw.state_dir,
    predict: toPredictSettings(raw.predict),
    mqtt: undefined,
    balance: toBalanceSettings(raw.balance, originOf, problems),
    fleet: toFleetSettings(raw.fleet, raw.state_dir, originOf, problems),
    collector,
  };
}

/** `targets[1].driver` → ['targets', '1', 'driver'] */
function keyPath(key: string): string[] {
  return key.split(/\.|\[([0-9]+)\]\.?/).filter((part) => part !== undefined && part !== '');
}

/** Env vars and string flags arrive as text; turn them into the type the schema wants. */
function coerce(text: string, leaf: Leaf, bad: (message: string) => void): unknown {
  switch (leaf.type) {
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return true;
      if (/^(false|0|no|off)$/i.test(text)) return false;
      return text;
    case 'number':
    case 'integer':
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'array':
      return text === '' ? [] : text.split(',').map((s) => s.trim());
    case 'json':
      try {
        return text.trim() === '' ? [] : JSON.parse(text);
      } catch (err) {
        bad(`is not valid JSON (a list of objects here is written as a JSON array): ${(err as Error).message}`);
        return [];
      }
    default:
      return text;
  }
}

function mergeInto(target: Record<string, unknown>, layer: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(layer)) {
    // `key:` with nothing after it is YAML null: read it as "not set", so the defaults apply.
    if (value === null) continue;
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) mergeInto(current, value);
    else target[key] = value;
  }
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

function hasIn(value: unknown, path: readonly string[]): boolean {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
