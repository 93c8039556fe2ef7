import type { Logger } from '../logger.js';
import type { GrantChange, GrantRow } from './clusters/grants.js';
import type { FleetStoreSettings } from './settings.js';
import type { DiskRecord, EventQuery, FleetEvent, HostRecord, HostStatus } from './types.js';

/**
 * The fleet state: hosts, every disk's current state, the event history. Every write is committed
 * when its promise resolves: the collector acknowledges a message to the broker only then.
 * Writes are idempotent, so a message the broker delivers twice (to one collector after a crash,
 * or to two collectors sharing one PostgreSQL store) changes nothing the second time.
 */
export interface FleetStore {
  /** Connects and creates or upgrades the schema. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Stores the event unless one with its (source, id) is stored; true when it was new. */
  addEvent(event: FleetEvent): Promise<boolean>;
  putStatus(status: HostStatus): Promise<void>;
  /** Forgets a host whose retained status was cleared (decommissioned). */
  removeHost(host: string): Promise<void>;
  /** Stores a disk's state unless the stored one comes from a newer reading. */
  putDisk(disk: DiskRecord): Promise<void>;
  /** The disk in this topic slot is gone (an empty retained message). */
  removeDisk(host: string, slot: string, receivedMs: number): Promise<void>;
  hosts(): Promise<HostRecord[]>;
  disks(): Promise<DiskRecord[]>;
  /** Newest first. */
  events(query: EventQuery): Promise<FleetEvent[]>;
  countEvents(): Promise<number>;
  /** Deletes events received before this time; returns how many. */
  prune(beforeMs: number): Promise<number>;
  /**
   * Decides a cluster's drain grants: `decide` is given the cluster's stored answers inside a
   * transaction that holds the cluster's lock, and what it returns is written before the lock is
   * let go. Several collectors on one store thus decide one after the other, and the budget holds
   * whichever of them answers. `decide` must be synchronous and pure.
   */
  decideGrants(cluster: string, decide: (current: GrantRow[]) => GrantChange[]): Promise<GrantChange[]>;
  /** Every stored answer, by host. */
  grants(): Promise<GrantRow[]>;
}

/** The SQL both stores run for one change (the columns are the same; only the types differ). */
export function grantParams(row: GrantRow, time: (ms: number) => unknown): unknown[] {
  return [row.host, row.cluster, row.request, row.state, row.reason, row.verdict, time(row.decidedMs), row.leaseExpiresMs === undefined ? null : time(row.leaseExpiresMs), row.collector];
}

/** The configured store; nothing is opened until open(). */
export async function createStore(settings: FleetStoreSettings, logger: Logger): Promise<FleetStore> {
  // Each driver is loaded only when used: a SQLite collector never loads pg, and the other way round.
  if (settings.driver === 'postgres') {
    const { PostgresFleetStore } = await import('./store-postgres.js');
    return new PostgresFleetStore(settings, logger);
  }
  const { SqliteFleetStore } = await import('./store-sqlite.js');
  return new SqliteFleetStore(settings.path);
}

/** The stored shape of a row's JSON columns, parsed defensively: a bad row must not break a page. */
export function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return (text as T) ?? fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The entries whose value is not null: optional fields stay absent rather than null. */
export function optional<T extends Record<string, unknown>>(values: T): { [K in keyof T]?: NonNullable<T[K]> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: NonNullable<T[K]> };
}

/** A drain_grants row as stored; `ms` reads a time column (SQLite: a number; PostgreSQL: a Date). */
export function grantRow(r: Record<string, any>, ms: (value: any) => number): GrantRow {
  return {
    host: r.host,
    cluster: r.cluster,
    request: r.request,
    state: r.state,
    reason: r.reason,
    verdict: r.verdict,
    decidedMs: ms(r.decided),
    ...(r.lease_expires !== null ? { leaseExpiresMs: ms(r.lease_expires) } : {}),
    collector: r.collector,
  };
}
