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
}

/** JSON Schema of one option, with the default that applies when nothing sets it. */
export interface OptionSchema {
  type: 'string' | 'number' | 'integer' | 'boolean' | 'array';
  items?: { type: 'string'; pattern?: string };
  description: string;
  default: unknown;
  [keyword: string]: unknown;
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
  /** Checks the schema cannot express (a regular expression compiles…): one message per bad key. */
  check?(options: Readonly<Record<string, unknown>>): Array<{ key: string; message: string }>;
  /** Extra flag spellings: option key → flag (`replay` → `smart.replay`). */
  flagAliases?: Readonly<Record<string, string>>;
  create(context: CollectorContext): Collector<R>;
  /**
   * Registers the collector's metric families. `latest` returns the last successful reading;
   * families serialise it at scrape time and never collect.
   */
  registerMetrics(registry: Registry, latest: () => R | undefined): void;
}
