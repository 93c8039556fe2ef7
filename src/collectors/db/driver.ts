import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { DbError } from './errors.js';
import type { TargetOptions } from './options.js';

/** Cumulative counters of one statement (digest) as the server keeps them. */
export interface StatementCounters {
  /** pg queryid, or the performance_schema DIGEST; empty for rows the server hides or folds. */
  digest: string;
  database: string;
  /** PostgreSQL only (performance_schema digests are not per user). */
  user: string;
  calls: number;
  seconds: number;
}

export interface ServerStatus {
  /** Client connections by state (`active`, `idle`, `idle_in_transaction`, …). */
  connections: Record<string, number>;
  maxConnections: number;
  /** Present only when the server is a replica. */
  replication?: { running: boolean; lagSeconds?: number };
  /** Something this user cannot see, and the grant that shows it. */
  hint?: string;
}

export interface StatementsRead {
  rows: StatementCounters[];
  hint?: string;
}

/** Statistics that the server cannot give this user: what to enable or grant, in one line. */
export class Unavailable extends Error {
  override name = 'Unavailable';
}

/** One long-lived connection to a database. */
export interface DbSession {
  /** `15.8`, `10.11.6-MariaDB`… */
  readonly version: string;
  /** False once the server closed the connection or it failed. */
  readonly alive: boolean;
  /**
   * Set when a query could not be cancelled and the connection was given up: the server may still
   * be running it. The next connection ends it with `terminate(orphan)`.
   */
  readonly orphan: Orphan | undefined;
  /** Ends the server side of a given-up connection of ours, if it is still there and still ours. */
  terminate(orphan: Orphan): Promise<void>;
  /**
   * Runs the probe query. Past the query timeout it is cancelled on the server and the promise
   * rejects with a DbError of reason `timeout`; other failures are classified too.
   */
  probe(sql: string): Promise<void>;
  /** Connections and replication; throws Unavailable when a grant is missing. */
  status(): Promise<ServerStatus>;
  /** Every statement's counters; throws Unavailable when the extension or a grant is missing. */
  statements(): Promise<StatementsRead>;
  /** Normalized query texts of these digests (only with statements.query_text). */
  statementTexts(digests: readonly string[]): Promise<Map<string, string>>;
  /**
   * Where the server keeps its data: data directory, tablespaces, WAL/redo; absolute paths as the
   * server reports them. Throws Unavailable when this user may not read them (the message says
   * which grant or role shows them).
   */
  dataPaths(): Promise<string[]>;
  /** Closes the connection; never throws, returns within about a second. */
  close(): Promise<void>;
}

/**
 * A server's data directory and the other directories it names, as absolute paths: a relative one
 * (MySQL's `./`, PostgreSQL's `pg_wal`) is relative to the data directory, as the server takes it;
 * an empty one (unset: the data directory itself) is left out; no trailing slash but on `/`; each
 * path once, the data directory first. Relative paths are dropped should the data directory itself
 * not be absolute: they cannot be placed.
 */
export function absoluteDataPaths(dataDir: string, others: readonly string[]): string[] {
  const base = posix.isAbsolute(dataDir) ? posix.resolve(dataDir) : undefined;
  const paths = new Set<string>();
  for (const path of [dataDir, ...others]) {
    if (posix.isAbsolute(path)) paths.add(posix.resolve(path));
    else if (path !== '' && base) paths.add(posix.resolve(base, path));
  }
  return [...paths];
}

/** The server side of a connection: PostgreSQL's backend (pid and start time), MySQL's connection id. */
export interface Orphan {
  id: number;
  /** PostgreSQL reuses pids: the backend's start time tells ours from a later one. */
  startedAt?: string;
}

export interface DbDriver {
  /** Rejects with a classified DbError. */
  connect(): Promise<DbSession>;
}

/** The first line of password_file, or the variable password_env names; undefined when neither is set. */
export async function readPassword(target: TargetOptions): Promise<string | undefined> {
  if (target.password_file) {
    let content: string;
    try {
      content = await readFile(target.password_file, 'utf8');
    } catch (err) {
      throw new DbError('auth', `cannot read password_file ${target.password_file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    return content.split(/\r?\n/)[0]!;
  }
  if (target.password_env) {
    const value = process.env[target.password_env];
    if (value === undefined) throw new DbError('auth', `password_env names ${target.password_env}, which is not set in the agent's environment`);
    return value;
  }
  return undefined;
}

/** A DSN with the password from password_file or password_env in it (drivers let a DSN's empty password win). */
export function dsnWithPassword(dsn: string, password: string | undefined): string {
  if (password === undefined) return dsn;
  const url = new URL(dsn);
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** The TLS files of a target, read at each connection so that a renewed certificate is picked up. */
export async function readTlsFiles(target: TargetOptions): Promise<{ ca?: string; cert?: string; key?: string }> {
  const files: { ca?: string; cert?: string; key?: string } = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const path = target.tls[key];
    if (!path) continue;
    try {
      files[key] = await readFile(path, 'utf8');
    } catch (err) {
      throw new DbError('connect', `cannot read tls.${key} ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  return files;
}

export interface CancelPlan {
  timeoutMs: number;
  /** Asks the server to cancel the running query, from another connection. */
  cancel(): Promise<void>;
  /** Gives up on a connection whose query would not stop: it is closed, replaced, and its server side ended from the next one. */
  abandon(): void;
}

/** A cancel needs a new connection (and a login): at least a second, even with a short query timeout. */
export const cancelTimeoutMs = (queryTimeoutMs: number): number => Math.max(queryTimeoutMs, 1000);

/**
 * Waits for a query with a deadline. The session also carries a server-side limit of the same
 * length (statement_timeout, max_statement_time), which normally ends the query first; when the
 * answer still has not come a grace period later, the query is cancelled from a side connection,
 * and if even that does not end it, the connection is abandoned. Either way the query does not
 * keep running on the server.
 */
export async function withDeadline<T>(query: Promise<T>, plan: CancelPlan, classify: (err: unknown) => DbError): Promise<T> {
  const graceMs = Math.min(500, Math.max(50, plan.timeoutMs / 4));
  const outcome = query.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), plan.timeoutMs + graceMs)));
  const first = await Promise.race([outcome, expired]);
  clearTimeout(timer);
  if (first !== 'expired') {
    if ('error' in first) throw classify(first.error);
    return first.value;
  }
  let cancelFailure = '';
  try {
    await plan.cancel();
  } catch (err) {
    cancelFailure = `; cancelling it failed (${err instanceof Error ? err.message : String(err)})`;
  }
  // A delivered cancel ends the query within moments; one that failed leaves only the grace period.
  const waitMs = cancelFailure ? graceMs : Math.max(graceMs, 1000);
  const after = await Promise.race([outcome, new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), waitMs)))]);
  clearTimeout(timer);
  if (after === 'expired') {
    plan.abandon();
    throw new DbError('timeout', `no answer within ${plan.timeoutMs} ms${cancelFailure}; the connection was closed`);
  }
  throw new DbError('timeout', `no answer within ${plan.timeoutMs} ms; cancelled on the server${cancelFailure}`);
}

/** Waits for a promise at most `ms`; undefined when it did not settle in time. Never rejects. */
export async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    promise.catch(() => undefined),
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms))),
  ]);
  clearTimeout(timer);
  return result;
}

/** The promise's outcome, or a rejection naming `what` once `ms` pass (the promise is then left to settle unobserved). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => {}); // a late failure must not become an unhandled rejection
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
