import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/** Filesystem roots, so the whole agent can be pointed at a fixture tree. */
export interface HostPaths {
  procfs: string;
  sysfs: string;
}

/** Settings every collector has, validated and converted. */
export interface CollectorSettings {
  enabled: boolean;
  intervalMs: number;
  timeoutMs: number;
  /** The collector's own keys, as validated against its `options` schema. */
  options: Readonly<Record<string, unknown>>;
}

export interface CollectorContext {
  settings: CollectorSettings;
  paths: HostPaths;
  logger: Logger;
}

export interface Collector<R> {
  /**
   * Read and parse once. Throws on failure (the scheduler turns that into a metric and one log
   * line). `signal` aborts when the timeout passes; I/O should stop then.
   */
  collect(signal: AbortSignal): Promise<R>;
  /**
   * Releases what the collector holds between collections (a database connection). Called once
   * when its loop stops (shutdown, reload); must not throw and should return within a second.
   */
  stop?(): Promise<void>;
}

/** JSON Schema of one option, with the default that applies when nothing sets it. */
export interface OptionSchema {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array';
  /**
   * List items: strings (comma-separated in env vars and flags), or objects (a list of database
   * targets), which env vars and flags take as one JSON array.
   */
  items?: { type: 'string'; pattern?: string } | ObjectItemSchema;
  description: string;
  default: unknown;
  [keyword: string]: unknown;
}

/** A list item that is an object: its keys are JSON Schema too, defaults applied by the collector. */
export interface ObjectItemSchema {
  type: 'object';
  properties: Readonly<Record<string, object>>;
  required?: readonly string[];
  additionalProperties: false;
  [keyword: string]: unknown;
}

/** What a collector's own `check` may look at besides its options. */
export interface CheckContext {
  intervalMs: number;
  timeoutMs: number;
  /** The environment the settings were read with (where password_env names are looked up). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * One entry in the collector index. Registering it gives it config keys
 * (`collector.<name>.{enabled,interval,timeout,…}`), flags and env vars, a scheduler loop and
 * its metrics; adding a collector touches no other file but the index.
 */
export interface CollectorDefinition<R = unknown> {
  name: string;
  description: string;
  defaults: { enabled: boolean; interval: string; timeout: string };
  /** Read once at start (and retried on failure) instead of on every interval. */
  once?: boolean;
  options?: Readonly<Record<string, OptionSchema>>;
  /**
   * Checks the schema cannot express (a regular expression compiles…): one message per bad key,
   * the key relative to the collector (`include[0]`, `targets[1].password_file`).
   */
  check?(options: Readonly<Record<string, unknown>>, context: CheckContext): Array<{ key: string; message: string }>;
  /**
   * True when the settings give an enabled collector nothing to do (db without targets): it is
   * then not scheduled, like a disabled one, and shows no status series.
   */
  idle?(options: Readonly<Record<string, unknown>>): boolean;
  /** Extra flag spellings: option key → flag (`replay` → `smart.replay`). */
  flagAliases?: Readonly<Record<string, string>>;
  create(context: CollectorContext): Collector<R>;
  /**
   * Registers the collector's metric families. `latest` returns the last successful reading;
   * families serialise it at scrape time and never collect.
   */
  registerMetrics(registry: Registry, latest: () => R | undefined): void;
}
