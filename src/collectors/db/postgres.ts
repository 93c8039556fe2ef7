import { createRequire } from 'node:module';
import { basename, dirname } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import type { Client as PgClient, ClientConfig, QueryResult, QueryResultRow } from 'pg';
import {
  absoluteDataPaths,
  cancelTimeoutMs,
  dsnWithPassword,
  readPassword,
  readTlsFiles,
  settleWithin,
  Unavailable,
  withDeadline,
  within,
  type DbDriver,
  type DbSession,
  type Orphan,
  type ServerStatus,
  type StatementsRead,
} from './driver.js';
import { classifyPostgres, DbError } from './errors.js';
import type { TargetOptions } from './options.js';

/**
 * node-postgres, loaded with the global `Response` hidden. At load it asks whether it runs in a
 * Cloudflare Worker by constructing a `Response`; on Node 20 that loads undici, whose HTTP parser
 * is WebAssembly, which the launcher's --lite-mode (bin/harbinger, as systemd runs it) does not
 * have: the agent would die on its first PostgreSQL target. Loaded synchronously, so nothing else
 * can run while `Response` is hidden.
 */
function loadPg(): { Client: typeof PgClient } {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    return createRequire(import.meta.url)('pg') as { Client: typeof PgClient };
  } finally {
    if (saved) Object.defineProperty(globalThis, 'Response', saved);
    else delete (globalThis as { Response?: unknown }).Response;
  }
}

const { Client } = loadPg();

/** Shows in pg_stat_activity, so a DBA sees which connections are the agent's. */
export const APPLICATION_NAME = 'harbinger';

const SETUP = `SELECT pg_backend_pid() AS pid, current_setting('server_version') AS version,
  (SELECT backend_start::text FROM pg_stat_activity WHERE pid = pg_backend_pid()) AS started,
  e.extversion AS pgss_version, n.nspname AS pgss_schema
FROM (SELECT 1) one
LEFT JOIN pg_extension e ON e.extname = 'pg_stat_statements'
LEFT JOIN pg_namespace n ON n.oid = e.extnamespace`;

// One query for connections and replication. Other users' sessions show neither state nor
// backend type without pg_monitor: those with a database are counted as state "unknown". The lag
// is 0 while the replica has replayed all it received (an idle primary sends nothing, which is
// not lag), else the age of the last replayed transaction.
const STATUS = `SELECT current_setting('max_connections')::int AS max_connections,
  coalesce((SELECT json_object_agg(state, n) FROM (
    SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM pg_stat_activity
    WHERE backend_type = 'client backend' OR (backend_type IS NULL AND datid IS NOT NULL) GROUP BY 1) s), '{}') AS connections,
  pg_is_in_recovery() AS replica,
  EXISTS (SELECT 1 FROM pg_stat_wal_receiver) AS streaming,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag_seconds`;

// current_setting('data_directory') needs superuser or pg_read_all_settings (in pg_monitor).
// pg_tablespace_location is '' for pg_default and pg_global (they live in the data directory), and
// relative (pg_tblspc/…) for an in-place tablespace. log_directory is not data: left out.
const DATA_PATHS = `SELECT current_setting('data_directory') AS data_directory,
  ARRAY(SELECT pg_tablespace_location(oid) FROM pg_tablespace ORDER BY oid) AS tablespaces`;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `1.10` ≥ `1.8`, numerically. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

type PgClientInternals = { connection?: { stream?: { destroy(): void } } };

/** Ends a client politely, or cuts its socket when the server does not answer within a second. */
async function closeClient(client: PgClient): Promise<void> {
  const ended = await settleWithin(client.end().then(() => true), 1000);
  if (!ended) (client as unknown as PgClientInternals).connection?.stream?.destroy();
}

export class PostgresDriver implements DbDriver {
  constructor(
    private readonly target: TargetOptions,
    private readonly queryTimeoutMs: number,
  ) {}

  async connect(): Promise<DbSession> {
    const config = await this.clientConfig();
    const session = new PostgresSession(config, this.target, this.queryTimeoutMs);
    try {
      await session.open();
      return session;
    } catch (err) {
      await session.close();
      throw classifyPostgres(err, 'connect');
    }
  }

  private async clientConfig(): Promise<ClientConfig> {
    const t = this.target;
    const password = await readPassword(t);
    const config: ClientConfig = {
      application_name: APPLICATION_NAME,
      connectionTimeoutMillis: this.queryTimeoutMs,
      // The server ends any of our statements at the timeout, even if the agent cannot ask it to.
      statement_timeout: this.queryTimeoutMs,
      keepAlive: true,
    };
    if (t.dsn) {
      config.connectionString = dsnWithPassword(t.dsn, password);
    } else if (t.socket) {
      // The socket directory (libpq's host), or the socket file itself: /var/run/postgresql/.s.PGSQL.5433
      const file = /^\.s\.PGSQL\.([0-9]+)$/.exec(basename(t.socket));
      config.host = file ? dirname(t.socket) : t.socket;
      config.port = file ? Number(file[1]) : t.port;
    } else {
      config.host = t.host;
      config.port = t.port;
    }
    if (!t.dsn) {
      config.user = t.user;
      config.database = t.database;
    }
    if (password !== undefined && !t.dsn) config.password = password;
    if (t.tls.enabled) {
      const files = await readTlsFiles(t);
      const serverName = t.tls.server_name;
      config.ssl = {
        ...files,
        rejectUnauthorized: !t.tls.insecure_skip_verify,
        ...(serverName ? { checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, cert) } : {}),
      };
    }
    return config;
  }
}

class PostgresSession implements DbSession {
  version = '';
  alive = true;
  orphan: Orphan | undefined;
  private readonly client: PgClient;
  private pid = 0;
  private started = '';
  private pgss: { version: string; schema: string } | undefined;

  constructor(
    private readonly config: ClientConfig,
    private readonly target: TargetOptions,
    private readonly timeoutMs: number,
  ) {
    this.client = new Client(config);
    // Without a listener an 'error' (server restart, idle_session_timeout) would crash the agent.
    this.client.on('error', () => (this.alive = false));
    this.client.on('end', () => (this.alive = false));
  }

  async open(): Promise<void> {
    await this.client.connect();
    const { rows } = await this.query<{ pid: number; version: string; started: string; pgss_version: string | null; pgss_schema: string | null }>(SETUP);
    const row = rows[0]!;
    this.pid = row.pid;
    this.started = row.started;
    this.version = row.version;
    this.pgss = row.pgss_version && row.pgss_schema ? { version: row.pgss_version, schema: row.pgss_schema } : undefined;
  }

  async probe(sql: string): Promise<void> {
    await this.query(sql);
  }

  async terminate(orphan: Orphan): Promise<void> {
    // Only that backend: same pid and start time (pids are reused), same user.
    await this.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_start = $2::timestamptz AND usename = current_user',
      [orphan.id, orphan.startedAt],
    );
  }

  async status(): Promise<ServerStatus> {
    const { rows } = await this.query<{
      max_connections: number;
      connections: Record<string, number>;
      replica: boolean;
      streaming: boolean;
      lag_seconds: number | null;
    }>(STATUS);
    const row = rows[0]!;
    const connections: Record<string, number> = {};
    for (const [state, n] of Object.entries(row.connections)) {
      const label = state.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '');
      connections[label] = (connections[label] ?? 0) + Number(n);
    }
    return {
      connections,
      maxConnections: row.max_connections,
      ...(row.replica ? { replication: { running: row.streaming, ...(row.lag_seconds === null ? {} : { lagSeconds: row.lag_seconds }) } } : {}),
      ...(connections.unknown ? { hint: `the state of other users' connections is hidden: GRANT pg_monitor TO ${this.user()}` } : {}),
    };
  }

  async statements(): Promise<StatementsRead> {
    const pgss = this.pgss;
    if (!pgss) {
      throw new Unavailable(
        `pg_stat_statements is not installed in database "${this.target.dsn ? 'of the DSN' : this.target.database}": ` +
          'add pg_stat_statements to shared_preload_libraries in postgresql.conf (restart PostgreSQL), then run ' +
          '"CREATE EXTENSION pg_stat_statements;" in that database',
      );
    }
    const time = versionAtLeast(pgss.version, '1.8') ? 'total_exec_time' : 'total_time';
    // Nested statements (track = all) are inside their caller's time already: top level only.
    const toplevel = versionAtLeast(pgss.version, '1.9') ? 'WHERE s.toplevel' : '';
    // pg_stat_statements(false): without the query texts, which live in a file read on each call.
    const sql = `SELECT coalesce(s.queryid::text, '') AS digest, coalesce(d.datname, '') AS database,
  coalesce(r.rolname, '') AS "user", sum(s.calls)::float8 AS calls, sum(s.${time})::float8 / 1000 AS seconds
FROM ${ident(pgss.schema)}.pg_stat_statements(false) s
LEFT JOIN pg_database d ON d.oid = s.dbid LEFT JOIN pg_roles r ON r.oid = s.userid
${toplevel} GROUP BY 1, 2, 3`;
    try {
      const { rows } = await this.query<{ digest: string; database: string; user: string; calls: number; seconds: number }>(sql);
      const hidden = rows.some((r) => r.digest === '');
      return { rows, ...(hidden ? { hint: `other users' statements are hidden: GRANT pg_read_all_stats TO ${this.user()}` } : {}) };
    } catch (err) {
      const code = err instanceof DbError ? err.code : undefined;
      if (code === '55000') {
        throw new Unavailable('pg_stat_statements is installed but not loaded: add it to shared_preload_libraries in postgresql.conf and restart PostgreSQL');
      }
      if (code === '42501') throw new Unavailable(`no permission to read pg_stat_statements: GRANT pg_read_all_stats TO ${this.user()}`);
      if (code === '42883' || code === '42P01' || code === '3F000') {
        this.pgss = undefined; // dropped since we connected
        return this.statements();
      }
      throw err;
    }
  }

  async statementTexts(digests: readonly string[]): Promise<Map<string, string>> {
    const wanted = digests.filter((d) => /^-?[0-9]+$/.test(d));
    if (!this.pgss || wanted.length === 0) return new Map();
    const { rows } = await this.query<{ digest: string; query: string }>(
      `SELECT DISTINCT ON (queryid) queryid::text AS digest, query FROM ${ident(this.pgss.schema)}.pg_stat_statements(true) WHERE queryid = ANY($1::bigint[])`,
      [wanted],
    );
    return new Map(rows.map((r) => [r.digest, r.query]));
  }

  async dataPaths(): Promise<string[]> {
    let row: { data_directory: string; tablespaces: string[] };
    try {
      row = (await this.query<{ data_directory: string; tablespaces: string[] }>(DATA_PATHS)).rows[0]!;
    } catch (err) {
      // 42501: insufficient_privilege ("must be superuser or have privileges of pg_read_all_settings").
      if (err instanceof DbError && err.reason === 'query' && (err.code === '42501' || err.message.includes('data_directory'))) {
        throw new Unavailable(`no permission to read data_directory: GRANT pg_monitor TO ${this.user()} (or pg_read_all_settings)`);
      }
      throw err;
    }
    // pg_xlog before 10. It may be a symlink to another disk (initdb --waldir): the path is the
    // server's, and whoever places it on a disk follows the link.
    const wal = Number.parseInt(this.version, 10) >= 10 ? 'pg_wal' : 'pg_xlog';
    return absoluteDataPaths(row.data_directory, [wal, ...row.tablespaces]);
  }

  async close(): Promise<void> {
    this.alive = false;
    await closeClient(this.client);
  }

  private user(): string {
    return this.client.user ?? this.target.user;
  }

  private query<R extends QueryResultRow>(sql: string, values?: unknown[]): Promise<QueryResult<R>> {
    return withDeadline(
      this.client.query<R>(sql, values),
      {
        timeoutMs: this.timeoutMs,
        cancel: () => this.cancelOnServer(),
        abandon: () => {
          this.alive = false;
          this.orphan = { id: this.pid, startedAt: this.started };
          (this.client as unknown as PgClientInternals).connection?.stream?.destroy();
        },
      },
      (err) => classifyPostgres(err, 'query'),
    );
  }

  /** pg_cancel_backend from a second, short connection: node-postgres has no cancel of its own. */
  private async cancelOnServer(): Promise<void> {
    const limit = cancelTimeoutMs(this.timeoutMs);
    const side = new Client({ ...this.config, connectionTimeoutMillis: limit, application_name: `${APPLICATION_NAME} cancel` });
    side.on('error', () => {});
    try {
      const cancel = async () => {
        await side.connect();
        await side.query('SELECT pg_cancel_backend($1)', [this.pid]);
      };
      await within(cancel(), limit, `pg_cancel_backend(${this.pid})`);
    } finally {
      await closeClient(side);
    }
  }
}
