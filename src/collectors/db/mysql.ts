import mysql from 'mysql2/promise';
import type { Connection, ConnectionOptions, RowDataPacket } from 'mysql2/promise';
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
import { classifyMysql, DbError } from './errors.js';
import type { TargetOptions } from './options.js';

/** The `program_name` connection attribute (performance_schema.session_connect_attrs). */
export const PROGRAM_NAME = 'harbinger';

const ACCESS_DENIED = new Set(['1142', '1143', '1044', '1227']); // table, column, database, privilege (SUPER, REPLICATION CLIENT…)

/**
 * Where InnoDB keeps its files besides the data directory (empty: the data directory; relative:
 * to it). SHOW VARIABLES needs no grant and leaves out a variable the server lacks (innodb_undo_directory,
 * or all of them on a server without InnoDB), where SELECT @@name would fail.
 */
const DATA_VARIABLES = ['datadir', 'innodb_data_home_dir', 'innodb_log_group_home_dir', 'innodb_undo_directory'];

/** Ends a connection politely, or destroys it when the server does not answer within a second. */
async function closeConnection(connection: Connection): Promise<void> {
  const ended = await settleWithin(connection.end().then(() => true), 1000);
  if (!ended) connection.destroy();
}

export class MysqlDriver implements DbDriver {
  constructor(
    private readonly target: TargetOptions,
    private readonly queryTimeoutMs: number,
  ) {}

  async connect(): Promise<DbSession> {
    const options = await this.options();
    const pending = mysql.createConnection(options);
    let connection: Connection;
    try {
      // mysql2's connectTimeout covers the TCP connect; this covers the handshake and login too.
      connection = await within(pending, this.queryTimeoutMs, 'connecting');
    } catch (err) {
      void pending.then((late) => late.destroy(), () => {}); // one that connects late is closed, not leaked
      throw classifyMysql(err, 'connect');
    }
    const session = new MysqlSession(connection, options, this.target, this.queryTimeoutMs);
    try {
      await session.setup();
      return session;
    } catch (err) {
      await session.close();
      throw classifyMysql(err, 'connect');
    }
  }

  private async options(): Promise<ConnectionOptions> {
    const t = this.target;
    const password = await readPassword(t);
    const options: ConnectionOptions = {
      connectTimeout: this.queryTimeoutMs,
      connectAttributes: { program_name: PROGRAM_NAME },
      enableKeepAlive: true,
      dateStrings: true,
      multipleStatements: false,
    };
    if (t.dsn) {
      options.uri = dsnWithPassword(t.dsn, password);
    } else {
      if (t.socket) options.socketPath = t.socket;
      else {
        options.host = t.host;
        options.port = t.port;
      }
      options.user = t.user;
      if (t.database) options.database = t.database;
      if (password !== undefined) options.password = password;
    }
    if (t.tls.enabled) {
      const verify = !t.tls.insecure_skip_verify;
      options.ssl = { ...(await readTlsFiles(t)), rejectUnauthorized: verify, verifyIdentity: verify };
    }
    return options;
  }
}

class MysqlSession implements DbSession {
  version = '';
  alive = true;
  orphan: Orphan | undefined;
  private mariadb = false;
  private performanceSchema = false;
  private digestConsumer: boolean | undefined;
  /** SHOW … STATUS refused: not asked again on this connection (and said once). */
  private replicationDenied = false;

  constructor(
    private readonly connection: Connection,
    private readonly options: ConnectionOptions,
    private readonly target: TargetOptions,
    private readonly timeoutMs: number,
  ) {
    // Without a listener an 'error' (server gone, wait_timeout) would crash the agent.
    connection.on('error', () => (this.alive = false));
    connection.on('end', () => (this.alive = false));
  }

  async setup(): Promise<void> {
    const [rows] = await this.query<RowDataPacket[]>('SELECT VERSION() AS version, @@performance_schema AS ps');
    this.version = String(rows[0]!.version);
    this.mariadb = /mariadb/i.test(this.version);
    this.performanceSchema = Number(rows[0]!.ps) === 1;
    // The server ends any of our statements at the timeout, even if the agent cannot ask it to.
    try {
      await this.query(this.mariadb ? `SET SESSION max_statement_time = ${this.timeoutMs / 1000}` : `SET SESSION max_execution_time = ${Math.round(this.timeoutMs)}`);
    } catch (err) {
      if ((err as DbError).reason !== 'query') throw err; // old servers lack the variable: KILL QUERY still works
    }
  }

  async probe(sql: string): Promise<void> {
    await this.query(sql);
  }

  async terminate(orphan: Orphan): Promise<void> {
    // Connection ids are not reused (a counter); the server only lets us kill our own user's.
    try {
      await this.query(`KILL CONNECTION ${Number(orphan.id)}`);
    } catch (err) {
      if ((err as DbError).code !== '1094') throw err; // ER_NO_SUCH_THREAD: already gone
    }
  }

  async status(): Promise<ServerStatus> {
    const table = this.mariadb ? 'information_schema.GLOBAL_STATUS' : 'performance_schema.global_status';
    const status = (name: string) => `(SELECT VARIABLE_VALUE FROM ${table} WHERE VARIABLE_NAME = '${name}')`;
    let rows: RowDataPacket[];
    try {
      [rows] = await this.query<RowDataPacket[]>(
        `SELECT @@max_connections AS max_connections, ${status('Threads_connected')} AS connected, ${status('Threads_running')} AS running`,
      );
    } catch (err) {
      if (err instanceof DbError && ACCESS_DENIED.has(err.code ?? '')) throw new Unavailable(`no permission to read ${table}: ${this.grant('SELECT ON performance_schema.*')}`);
      throw err;
    }
    const row = rows[0]!;
    const connected = Number(row.connected);
    const running = Number(row.running);
    const result: ServerStatus = {
      connections: { active: running, idle: Math.max(0, connected - running) },
      maxConnections: Number(row.max_connections),
    };
    if (this.replicationDenied) return result;
    try {
      const replication = await this.replication();
      if (replication) result.replication = replication;
    } catch (err) {
      if (!(err instanceof DbError && ACCESS_DENIED.has(err.code ?? ''))) throw err;
      this.replicationDenied = true;
      result.hint = `replication status is not visible: ${this.grant(this.mariadb ? 'SLAVE MONITOR ON *.*' : 'REPLICATION CLIENT ON *.*')}`;
    }
    return result;
  }

  private async replication(): Promise<ServerStatus['replication']> {
    // MariaDB: every replication source; MySQL 8.0.22+ renamed the statement and its columns.
    const sql = this.mariadb ? 'SHOW ALL SLAVES STATUS' : mysqlAtLeast(this.version, [8, 0, 22]) ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS';
    const [rows] = await this.query<RowDataPacket[]>(sql);
    if (rows.length === 0) return undefined;
    let running = true;
    let lag: number | undefined;
    for (const row of rows) {
      const io = row.Replica_IO_Running ?? row.Slave_IO_Running;
      const sqlThread = row.Replica_SQL_Running ?? row.Slave_SQL_Running;
      if (io !== 'Yes' || sqlThread !== 'Yes') running = false;
      const behind = row.Seconds_Behind_Source ?? row.Seconds_Behind_Master;
      if (behind !== null && behind !== undefined) lag = Math.max(lag ?? 0, Number(behind));
    }
    return { running, ...(lag === undefined ? {} : { lagSeconds: lag }) };
  }

  async statements(): Promise<StatementsRead> {
    if (!this.performanceSchema) {
      throw new Unavailable("performance_schema is OFF: set performance_schema=ON in the server's configuration and restart it");
    }
    try {
      if (this.digestConsumer === undefined) {
        const [consumers] = await this.query<RowDataPacket[]>("SELECT ENABLED FROM performance_schema.setup_consumers WHERE NAME = 'statements_digest'");
        this.digestConsumer = consumers[0]?.ENABLED === 'YES';
      }
      if (!this.digestConsumer) {
        this.digestConsumer = undefined; // asked again next time
        throw new Unavailable(
          "the statements_digest consumer is off: UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = 'statements_digest' " +
            '(and performance_schema_consumer_statements_digest=ON in the configuration)',
        );
      }
      // SUM_TIMER_WAIT is in picoseconds; the row with a NULL digest holds what did not fit in the table.
      const [rows] = await this.query<RowDataPacket[]>(
        `SELECT coalesce(DIGEST, '') AS digest, coalesce(SCHEMA_NAME, '') AS db, COUNT_STAR AS calls, SUM_TIMER_WAIT / 1e12 AS seconds
FROM performance_schema.events_statements_summary_by_digest`,
      );
      return { rows: rows.map((r) => ({ digest: String(r.digest), database: String(r.db), user: '', calls: Number(r.calls), seconds: Number(r.seconds) })) };
    } catch (err) {
      if (err instanceof DbError && ACCESS_DENIED.has(err.code ?? '')) {
        throw new Unavailable(`no permission to read performance_schema: ${this.grant('SELECT ON performance_schema.*')}`);
      }
      throw err;
    }
  }

  async statementTexts(digests: readonly string[]): Promise<Map<string, string>> {
    const wanted = digests.filter((d) => /^[0-9a-f]+$/i.test(d));
    if (wanted.length === 0) return new Map();
    const [rows] = await this.query<RowDataPacket[]>(
      'SELECT DIGEST AS digest, DIGEST_TEXT AS text FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST IN (?)',
      [wanted],
    );
    const texts = new Map<string, string>();
    for (const row of rows) if (row.text !== null && !texts.has(String(row.digest))) texts.set(String(row.digest), String(row.text));
    return texts;
  }

  async dataPaths(): Promise<string[]> {
    const [rows] = await this.query<RowDataPacket[]>('SHOW GLOBAL VARIABLES WHERE Variable_name IN (?)', [DATA_VARIABLES]);
    const value = (name: string) => {
      const row = rows.find((r) => String(r.Variable_name).toLowerCase() === name);
      return row?.Value === null || row?.Value === undefined ? '' : String(row.Value);
    };
    const [datadir, ...others] = DATA_VARIABLES.map(value);
    return absoluteDataPaths(datadir!, others);
  }

  async close(): Promise<void> {
    this.alive = false;
    await closeConnection(this.connection);
  }

  private grant(what: string): string {
    const user = this.options.user ?? this.target.user;
    return `GRANT ${what} TO '${user}'@'<the agent's host>'`;
  }

  private query<T extends RowDataPacket[] | mysql.ResultSetHeader>(sql: string, values?: unknown[]): Promise<[T, unknown]> {
    return withDeadline(
      this.connection.query<T>(sql, values) as Promise<[T, unknown]>,
      {
        timeoutMs: this.timeoutMs,
        cancel: () => this.killQuery(),
        abandon: () => {
          this.alive = false;
          this.orphan = { id: this.connection.threadId };
          this.connection.destroy();
        },
      },
      (err) => classifyMysql(err, 'query'),
    );
  }

  /** KILL QUERY from a second, short connection: the statement stops, the connection stays. */
  private async killQuery(): Promise<void> {
    const id = this.connection.threadId;
    const limit = cancelTimeoutMs(this.timeoutMs);
    const pending = mysql.createConnection({ ...this.options, connectTimeout: limit });
    try {
      const side = await within(pending, limit, 'connecting to cancel');
      try {
        await within(side.query(`KILL QUERY ${Number(id)}`), limit, `KILL QUERY ${id}`);
      } finally {
        await closeConnection(side);
      }
    } catch (err) {
      void pending.then((late) => late.destroy(), () => {});
      throw err;
    }
  }
}

/** `8.0.35`, `8.0.22-log` ≥ [8, 0, 22] */
function mysqlAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = (/^[0-9.]+/.exec(version)?.[0] ?? '0').split('.').map(Number);
  for (let i = 0; i < minimum.length; i++) {
    const d = (parts[i] ?? 0) - minimum[i]!;
    if (d !== 0) return d > 0;
  }
  return true;
}
