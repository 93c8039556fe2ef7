import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { findProgram, giveToServer, runAsServerUser, serverDir, ServerProcess } from './db-process.js';
import { freePort } from './tools.js';

export interface MariadbOptions {
  /** Extra mariadbd options (`--performance-schema=OFF`). */
  args?: string[];
}

/**
 * A real MariaDB (Debian's mariadb-server) in a temporary directory on a free port:
 * mariadb-install-db, then `mariadbd --no-defaults` run as nobody when we are root, with
 * performance_schema on. root@127.0.0.1 has no password. stop()/start() inject outages.
 */
export class MariadbServer {
  readonly host = '127.0.0.1';

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly socket: string,
    private readonly process: ServerProcess,
    private readonly remove: () => Promise<void>,
  ) {}

  get pid(): number | undefined {
    return this.process.pid;
  }

  log(): string {
    return this.process.output();
  }

  /** A connection as root over TCP (or as `user` with `password`). */
  async connect(user = 'root', password = '', database?: string): Promise<Connection> {
    const connection = await mysql.createConnection({ host: this.host, port: this.port, user, password, ...(database ? { database } : {}) });
    connection.on('error', () => {});
    return connection;
  }

  /** One statement as root. */
  async query<R = RowDataPacket>(sql: string, params: unknown[] = []): Promise<R[]> {
    const connection = await this.connect();
    try {
      const [rows] = await connection.query(sql, params);
      return rows as R[];
    } finally {
      await connection.end();
    }
  }

  dsn(user: string, database = '', password?: string): string {
    const auth = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
    return `mysql://${auth}@${this.host}:${this.port}/${database}`;
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

export async function startMariadb(options: MariadbOptions = {}): Promise<MariadbServer> {
  const install = findProgram('mariadb-install-db', 'mariadb-server', ['/usr/bin']);
  const mariadbd = findProgram('mariadbd', 'mariadb-server', ['/usr/sbin', '/usr/libexec']);
  const { dir, remove } = await serverDir('harbinger-mariadb-');
  try {
    const dataDir = join(dir, 'data');
    // Its own tmpdir: two servers set up at once in the shared /tmp trip over each other's files.
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    await giveToServer(tmp);
    await runAsServerUser(install, ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { HOME: dir, TMPDIR: tmp });
    const port = await freePort();
    const socket = join(dir, 'mysqld.sock');
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      `--tmpdir=${tmp}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--performance-schema=ON',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--max-connections=60',
      ...(options.args ?? []),
    ];
    const process = new ServerProcess('mariadbd', mariadbd, args, { HOME: dir, TMPDIR: tmp }, /ready for connections/, 'SIGTERM');
    await process.start();
    return new MariadbServer(port, dir, socket, process, remove);
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Connections a user has open right now (excluding the asking session). */
export async function connectionsOf(server: MariadbServer, user: string): Promise<number> {
  const [row] = await server.query<{ n: number }>('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()', [user]);
  return Number(row!.n);
}
