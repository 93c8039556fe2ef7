import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import pg from 'pg';
import { findProgram, giveToServer, postgresBinDirs, runAsServerUser, serverDir, serverForTest, ServerProcess, sharedServer } from './db-process.js';
import { freePort } from './tools.js';

export const PG_ADMIN_PASSWORD = 'pg-admin-password-7f3a';

export interface PostgresOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

/**
 * A real PostgreSQL (Debian's postgresql package) in a temporary directory on a free port:
 * initdb, then `postgres` run as nobody when we are root. Unix socket: trust; TCP: password
 * (scram-sha-256). pg_stat_statements is preloaded. stop()/start() inject outages.
 */
export class PostgresServer {
  readonly host = '127.0.0.1';

  constructor(
    readonly port: number,
    /** Also the Unix socket directory. */
    readonly dir: string,
    readonly dataDir: string,
    private readonly process: ServerProcess,
    private readonly remove: () => Promise<void>,
  ) {}

  get pid(): number | undefined {
    return this.process.pid;
  }

  log(): string {
    return this.process.output();
  }

  /** A connection as the superuser over TCP (or as `user` with `password`). */
  async connect(database = 'postgres', user = 'postgres', password = PG_ADMIN_PASSWORD): Promise<pg.Client> {
    const client = new pg.Client({ host: this.host, port: this.port, user, password, database, application_name: 'harbinger-test' });
    client.on('error', () => {});
    await client.connect();
    return client;
  }

  /** One statement as the superuser. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> {
    const client = await this.connect(database);
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  dsn(user: string, database: string, password?: string): string {
    const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return `postgres://${auth}@${this.host}:${this.port}/${database}`;
  }

  stop(): Promise<void> {
    return this.process.stop();
  }

  start(): Promise<void> {
    return this.process.start();
  }

  async destroy(): Promise<void> {
    await this.process.kill();
    await this.remove();
  }
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDirs();
  const initdb = findProgram('initdb', 'postgresql', bin);
  const postgres = findProgram('postgres', 'postgresql', bin);
  const { dir, remove } = await serverDir('harbinger-pg-');
  try {
    const passwordFile = join(dir, 'admin.pw');
    await writeFile(passwordFile, PG_ADMIN_PASSWORD);
    await giveToServer(passwordFile);
    const dataDir = join(dir, 'data');
    await runAsServerUser(
      initdb,
      ['-D', dataDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C', '--no-sync'],
      { HOME: dir },
    );
    const port = await freePort();
    const process = new ServerProcess('postgres', postgres, serverArgs(dataDir, port, dir, options), { HOME: dir }, /database system is ready to accept connections/, 'SIGINT');
    await process.start();
    return new PostgresServer(port, dir, dataDir, process, remove);
  } catch (err) {
    await remove();
    throw err;
  }
}

function serverArgs(dataDir: string, port: number, socketDir: string, options: PostgresOptions): string[] {
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    shared_preload_libraries: 'pg_stat_statements',
    max_connections: '60',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...options.settings,
  };
  return ['-D', dataDir, '-p', String(port), '-k', socketDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** A streaming replica of `primary` (pg_basebackup -R), read-only, on its own port and directory. */
export async function startReplica(primary: PostgresServer, options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDirs();
  const basebackup = findProgram('pg_basebackup', 'postgresql-client', bin);
  const postgres = findProgram('postgres', 'postgresql', bin);
  const { dir, remove } = await serverDir('harbinger-pg-replica-');
  try {
    const dataDir = join(dir, 'data');
    // Over the primary's socket as postgres (trust); -R writes standby.signal and primary_conninfo.
    await runAsServerUser(basebackup, ['-D', dataDir, '-R', '-X', 'stream', '-h', primary.dir, '-p', String(primary.port), '-U', 'postgres', '--no-sync'], { HOME: dir });
    const port = await freePort();
    const process = new ServerProcess(
      'postgres replica',
      postgres,
      serverArgs(dataDir, port, dir, options),
      { HOME: dir },
      /database system is ready to accept read-only connections/,
      'SIGINT',
    );
    await process.start();
    return new PostgresServer(port, dir, dataDir, process, remove);
  } catch (err) {
    await remove();
    throw err;
  }
}

/** A server for one test file: started once, destroyed when the file's tests end. */
export function sharedPostgres(test: { after: { always: (fn: () => Promise<void>) => void } }, options?: PostgresOptions): () => Promise<PostgresServer> {
  return sharedServer(test, () => startPostgres(options));
}

/** A server for one test, destroyed at its end. */
export function postgresServer(t: ExecutionContext, options?: PostgresOptions): Promise<PostgresServer> {
  return serverForTest(t, () => startPostgres(options));
}

/** The connections a role has open right now, by backend (excluding the asking session). */
export async function connectionsOf(server: PostgresServer, user: string): Promise<number> {
  const [row] = await server.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [user]);
  return row!.n;
}
