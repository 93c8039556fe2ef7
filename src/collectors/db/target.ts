import { performance } from 'node:perf_hooks';
import type { Logger } from '../../logger.js';
import { resolvedPath } from '../../resolved-path.js';
import { bucketIndex } from '../../metrics/state-histogram.js';
import { Unavailable, type DbDriver, type DbSession, type Orphan, type ServerStatus } from './driver.js';
import { DbError, REASONS, type Fault, type Reason } from './errors.js';
import type { Driver, TargetOptions } from './options.js';
import { StatementTracker, type StatementsWindow } from './statements.js';

/** Probe latency buckets: a local `SELECT 1` takes ~0.1 ms, a drowning server seconds. */
export const PROBE_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Reconnect backoff after failed connection attempts: 1 s, 2 s, 4 s … at most a minute. */
const MAX_BACKOFF_MS = 60_000;
/** A missing extension or grant is looked for again this often (or on a new connection). */
const STATEMENTS_RETRY_MS = 10 * 60_000;
/** Query texts are labels: keep them short. */
const MAX_TEXT_LENGTH = 200;
/** Given-up connections whose server side is still to be ended: a bound, should ends keep failing. */
const MAX_ORPHANS = 16;

/** What the state keeps of one target: its latest outcome and its counters since the agent started. */
export interface TargetReading {
  name: string;
  driver: Driver;
  version?: string;
  /** Whether the last probe was answered; undefined before the first attempt. */
  up?: boolean;
  lastProbeMs?: number;
  /** Round trip of the last answered probe. */
  lastLatencySeconds?: number;
  lastError?: { reason: Reason; message: string; atMs: number; fault: Fault };
  /**
   * Probes in a row that found the database not serving; an answer, or a failure that shows the
   * server is there (a refused login), ends the run. The load balancer counts these.
   */
  unansweredProbes: number;
  /** `down`: this database not answering takes the host out of the load balancer; `ignore`: it never affects it. */
  balance: TargetOptions['balance'];
  errorsTotal: Record<Reason, number>;
  /** Answered probes per PROBE_BUCKETS bucket (plus one above the last), and their sum. */
  histogram: { counts: number[]; sum: number };
  status?: Omit<ServerStatus, 'hint'>;
  /**
   * Where the database keeps its data (resolved through symlinks on this host), from the target's
   * `data_paths` or asked of the server at each new connection; a problem when it cannot be
   * read (a missing grant); undefined until the first connection.
   */
  dataPaths?: { paths: string[]; from: 'config' | 'server' } | { problem: string };
  /** Undefined when statements are off in the config. */
  statementsAvailable?: boolean;
  statements?: StatementsWindow & { texts: Record<string, string> };
}

/**
 * One target: a long-lived connection (reconnected with backoff), the probe, and the server's own
 * statistics. Failures are data in the reading and one log line per change, never a throw.
 */
export class TargetMonitor {
  private session: DbSession | undefined;
  private closed = false;
  private connectFailures = 0;
  private nextConnectMs = 0;
  private statementsRetryMs = 0;
  private readonly tracker = new StatementTracker();
  private texts = new Map<string, string>();
  private readonly said = new Set<string>();
  private inFlight: Promise<void> | undefined;
  private orphans: Orphan[] = [];
  /** Whether the database has answered at least once since the agent started (see failed()). */
  private answeredOnce = false;
  private readonly reading: TargetReading;
  private readonly log: Logger;

  constructor(
    private readonly target: TargetOptions,
    private readonly driver: DbDriver,
    private readonly queryTimeoutMs: number,
    logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.log = logger.child({ target: target.name });
    this.reading = {
      name: target.name,
      driver: target.driver,
      unansweredProbes: 0,
      balance: target.balance,
      errorsTotal: Object.fromEntries(REASONS.map((r) => [r, 0])) as Record<Reason, number>,
      histogram: { counts: new Array<number>(PROBE_BUCKETS.length + 1).fill(0), sum: 0 },
      ...(target.statements.enabled ? { statementsAvailable: false } : {}),
      ...(target.data_paths.length > 0 ? { dataPaths: { paths: target.data_paths.map(resolvedPath), from: 'config' as const } } : {}),
    };
  }

  /** A copy of the reading, for the state (the monitor keeps changing its own). */
  snapshot(): TargetReading {
    return structuredClone(this.reading);
  }

  /**
   * One probe round, finished by `deadlineMs` as far as the monitor decides (each query has its
   * own timeout). A round still running from before is joined, not doubled. Never rejects.
   */
  round(deadlineMs: number): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.run(deadlineMs)
        .catch((err: unknown) => this.log.error({ err }, 'database round failed unexpectedly'))
        .finally(() => (this.inFlight = undefined));
    }
    return this.inFlight;
  }

  /** Closes the connection; a connection attempt still under way is closed when it ends. */
  async stop(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    await session?.close();
  }

  private async run(deadlineMs: number): Promise<void> {
    const session = await this.connected();
    if (!session) return;
    const started = performance.now();
    try {
      await session.probe(this.target.query);
    } catch (err) {
      this.failed(err instanceof DbError ? err : new DbError('query', String(err)));
      if (!session.alive) await this.drop();
      return;
    }
    this.answered((performance.now() - started) / 1000);
    // Statistics only when the server answers, and only with time left for them.
    if (this.now() + this.queryTimeoutMs > deadlineMs) return;
    await this.readStatus(session);
    if (this.target.statements.enabled && this.now() + this.queryTimeoutMs <= deadlineMs) await this.readStatements(session);
    if (!session.alive) await this.drop();
  }

  /** The open session, a new one, or undefined while connecting fails (and backs off). */
  private async connected(): Promise<DbSession | undefined> {
    if (this.session?.alive) return this.session;
    // Lost since the last round (restart, idle timeout): reconnect now, that is not a failure yet.
    await this.drop();
    if (this.closed || this.now() < this.nextConnectMs) return undefined;
    try {
      const session = await this.driver.connect();
      if (this.closed) {
        await session.close();
        return undefined;
      }
      this.session = session;
      this.connectFailures = 0;
      this.reading.version = session.version;
      this.statementsRetryMs = 0; // a new connection may see what the old one could not
      await this.endOrphans(session);
      await this.readDataPaths(session);
      return session;
    } catch (err) {
      this.connectFailures++;
      this.nextConnectMs = this.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.connectFailures - 1));
      this.failed(err instanceof DbError ? err : new DbError('connect', String(err)));
      return undefined;
    }
  }

  private async drop(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session?.orphan) this.orphans = [...this.orphans, session.orphan].slice(-MAX_ORPHANS);
    await session?.close();
  }

  /**
   * A connection given up because its query would not stop (the cancel could not get through)
   * may leave that query running on the server: the next connection ends it.
   */
  private async endOrphans(session: DbSession): Promise<void> {
    const left: Orphan[] = [];
    for (const orphan of this.orphans) {
      try {
        await session.terminate(orphan);
        this.log.info({ serverId: orphan.id }, 'ended the server side of a connection given up after a timeout');
      } catch (err) {
        left.push(orphan);
        this.sayOnce('orphan', `cannot end the server side of a connection given up after a timeout (id ${orphan.id}): ${(err as Error).message}`);
      }
    }
    this.orphans = left;
  }

  private answered(seconds: number): void {
    const r = this.reading;
    if (r.lastError) this.log.info({ after: r.lastError.reason, latencySeconds: seconds }, 'database answers again');
    r.histogram.counts[bucketIndex(PROBE_BUCKETS, seconds)]!++;
    r.histogram.sum += seconds;
    r.up = true;
    this.answeredOnce = true;
    r.unansweredProbes = 0;
    r.lastProbeMs = this.now();
    r.lastLatencySeconds = seconds;
    delete r.lastError;
  }

  private failed(error: DbError): void {
    if (this.closed) return; // stopped under a round still in flight: its connection was closed on purpose
    const r = this.reading;
    const fault = this.faultOf(error);
    r.errorsTotal[error.reason]++;
    r.unansweredProbes = fault === 'unanswered' ? r.unansweredProbes + 1 : 0;
    // One line when it starts failing, or fails differently; the counter has the rest.
    if (r.lastError?.reason !== error.reason || r.lastError.fault !== fault) {
      const meaning =
        fault === 'monitoring'
          ? 'harbinger cannot watch this database: a monitoring fault, not an outage, so the load-balancer decision does not change; fix the monitoring user, its grants or the target settings'
          : 'the database does not answer';
      this.log.warn({ reason: error.reason, code: error.code, detail: error.message, fault, meaning }, 'database probe failed');
    }
    r.up = false;
    r.lastProbeMs = this.now();
    r.lastError = { reason: error.reason, message: error.message, atMs: this.now(), fault };
  }

  /**
   * A missing Unix socket is what a stopped server leaves, and also what a wrong `socket` path
   * gives: only once the database has answered at that path is its absence an outage.
   */
  private faultOf(error: DbError): Fault {
    if (error.fault === 'unanswered' && error.code === 'ENOENT' && !this.answeredOnce) return 'monitoring';
    return error.fault;
  }

  /** Asked once per connection: a moved data directory or a new tablespace comes with a restart. */
  private async readDataPaths(session: DbSession): Promise<void> {
    if (this.target.data_paths.length > 0) return;
    try {
      const paths = await session.dataPaths();
      this.reading.dataPaths = { paths: paths.map(resolvedPath), from: 'server' };
      this.said.delete('data-paths');
    } catch (err) {
      const problem = err instanceof Unavailable ? err.message : `asking where the data lives failed: ${(err as Error).message}`;
      this.reading.dataPaths = { problem };
      this.sayOnce('data-paths', `${problem}; the disks' roles stay unknown until it can be read, or set data_paths on this target`);
    }
  }

  private async readStatus(session: DbSession): Promise<void> {
    try {
      const { hint, ...status } = await session.status();
      this.reading.status = status;
      if (hint) this.sayOnce(hint, hint);
    } catch (err) {
      delete this.reading.status;
      if (err instanceof Unavailable) this.sayOnce('status', `${err.message}; the probe goes on without connection counts`);
      else this.sayOnce('status-error', `reading connections and replication failed: ${(err as Error).message}`);
    }
  }

  private async readStatements(session: DbSession): Promise<void> {
    if (this.now() < this.statementsRetryMs) return;
    const { top_k: topK, query_text: withText } = this.target.statements;
    try {
      const read = await session.statements();
      const window = this.tracker.update(read.rows, this.now(), topK);
      if (!this.reading.statementsAvailable) this.said.delete('statements'); // say it again should it go away
      this.reading.statementsAvailable = true;
      if (read.hint) this.sayOnce(read.hint, read.hint);
      if (!window) return;
      if (withText) await this.fetchTexts(session, window.top.map((s) => s.digest));
      const texts: Record<string, string> = {};
      for (const s of window.top) {
        const text = this.texts.get(s.digest);
        if (text !== undefined) texts[s.digest] = text;
      }
      this.reading.statements = { ...window, texts };
    } catch (err) {
      delete this.reading.statements;
      if (err instanceof Unavailable) {
        this.reading.statementsAvailable = false;
        this.statementsRetryMs = this.now() + STATEMENTS_RETRY_MS;
        this.sayOnce('statements', `${err.message}; the probe goes on without statement statistics`);
      } else {
        this.sayOnce('statements-error', `reading statement statistics failed: ${(err as Error).message}`);
      }
    }
  }

  /** Texts of digests not seen before; the cache keeps only the current top statements. */
  private async fetchTexts(session: DbSession, digests: string[]): Promise<void> {
    const missing = digests.filter((d) => !this.texts.has(d));
    const found = missing.length > 0 ? await session.statementTexts(missing) : new Map<string, string>();
    const next = new Map<string, string>();
    for (const d of digests) {
      const text = this.texts.get(d) ?? found.get(d);
      if (text !== undefined) next.set(d, text.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT_LENGTH));
    }
    this.texts = next;
  }

  /** A lasting condition (a missing grant) is said once, not every round. */
  private sayOnce(key: string, message: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.log.warn(message);
  }
}
