import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { absoluteDataPaths, Unavailable, type DbSession } from '../../../src/collectors/db/driver.js';
import { DbError } from '../../../src/collectors/db/errors.js';
import { driverFor } from '../../../src/collectors/db/index.js';
import { giveToServer, startAll } from '../../helpers/db-process.js';
import { startMariadb, type MariadbServer } from '../../helpers/mariadb.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { tempDir } from '../../helpers/tmp.js';
import { targetOptions } from './monitor.js';

// One server of each for the file; serial, because one test creates a tablespace and one locks a catalog.
const test = anyTest as TestFn<{ pg: PostgresServer; db: MariadbServer }>;
let servers: [PostgresServer, MariadbServer] | undefined;

test.before(async (t) => {
  // Relative InnoDB directories, as a my.cnf may have them: the server takes them relative to the data directory.
  const [pg, db] = (await startAll<PostgresServer | MariadbServer>([
    startPostgres(),
    startMariadb({ args: ['--innodb-undo-directory=undo', '--innodb-log-group-home-dir=../data/'] }),
  ])) as [PostgresServer, MariadbServer];
  servers = [pg, db];
  await pg.query("CREATE ROLE harbinger LOGIN PASSWORD 'agent-pw'");
  await pg.query('GRANT pg_monitor TO harbinger');
  await pg.query("CREATE ROLE plain LOGIN PASSWORD 'plain-pw'");
  await db.query("CREATE USER plain@'%' IDENTIFIED BY 'plain-pw'");
  t.context = { pg, db };
});
test.after.always(async () => {
  await Promise.all(servers?.map((s) => s.destroy()) ?? []);
});

process.env.TEST_DATA_PATHS_AGENT = 'agent-pw';
process.env.TEST_DATA_PATHS_PLAIN = 'plain-pw';

async function session(t: { teardown(fn: () => Promise<void>): void }, raw: Record<string, unknown>, queryTimeoutMs = 2000): Promise<DbSession> {
  const s = await driverFor(targetOptions(raw), queryTimeoutMs).connect();
  t.teardown(() => s.close());
  return s;
}

const pgTarget = (pg: PostgresServer, user: string, env: string) => ({ driver: 'postgres', host: pg.host, port: pg.port, user, password_env: env, database: 'postgres' });
const real = (paths: readonly string[]) => Promise.all(paths.map((p) => realpath(p)));

test('absoluteDataPaths: relative to the data directory, empty ones left out, no trailing slash, each once', (t) => {
  // MariaDB's defaults: innodb_data_home_dir empty, the log and undo directories ./
  t.deepEqual(absoluteDataPaths('/var/lib/mysql/', ['', './', './']), ['/var/lib/mysql']);
  t.deepEqual(absoluteDataPaths('/var/lib/mysql/', ['/srv/ibdata/', 'undo', '../redo//', '/srv/ibdata']), ['/var/lib/mysql', '/srv/ibdata', '/var/lib/mysql/undo', '/var/lib/redo']);
  t.deepEqual(absoluteDataPaths('/srv/pg/15/main', ['pg_wal', '', '', '/mnt/ts1', 'pg_tblspc/16390']), [
    '/srv/pg/15/main',
    '/srv/pg/15/main/pg_wal',
    '/mnt/ts1',
    '/srv/pg/15/main/pg_tblspc/16390',
  ]);
  t.deepEqual(absoluteDataPaths('/', ['./', '/']), ['/']);
  t.deepEqual(absoluteDataPaths('data', ['./', '/srv/redo']), ['/srv/redo'], 'a relative path cannot be placed without an absolute data directory');
  t.deepEqual(absoluteDataPaths('', ['']), []);
});

test.serial('PostgreSQL, a user with pg_monitor: the data directory, pg_wal and each tablespace', async (t) => {
  const { pg } = t.context;
  const location = await tempDir(t, 'harbinger-tablespace-');
  await giveToServer(location);
  await pg.query(`CREATE TABLESPACE data_paths_ts LOCATION '${location}'`);
  t.teardown(async () => void (await pg.query('DROP TABLESPACE IF EXISTS data_paths_ts')));
  const s = await session(t, pgTarget(pg, 'harbinger', 'TEST_DATA_PATHS_AGENT'));
  const paths = await s.dataPaths();
  t.true(paths.every((p) => p.startsWith('/') && (p === '/' || !p.endsWith('/'))), paths.join(' '));
  t.deepEqual(await real(paths), await real([pg.dataDir, join(pg.dataDir, 'pg_wal'), location]));
  t.false(paths.some((p) => p.endsWith('/log')), 'log_directory is not data');
});

test.serial('PostgreSQL, a user without pg_monitor: Unavailable, naming the grant', async (t) => {
  const { pg } = t.context;
  const s = await session(t, pgTarget(pg, 'plain', 'TEST_DATA_PATHS_PLAIN'));
  const err = await t.throwsAsync(s.dataPaths(), { instanceOf: Unavailable });
  t.regex(err!.message, /GRANT pg_monitor TO plain/);
  t.regex(err!.message, /pg_read_all_settings/);
  t.true(s.alive, 'the session is still usable');
  await s.probe('SELECT 1');
});

test.serial('PostgreSQL, a catalog locked by another session: dataPaths ends at the query timeout', async (t) => {
  const { pg } = t.context;
  const s = await session(t, pgTarget(pg, 'harbinger', 'TEST_DATA_PATHS_AGENT'), 500);
  const holder = await pg.connect();
  t.teardown(() => holder.end());
  await holder.query('BEGIN; LOCK TABLE pg_tablespace IN ACCESS EXCLUSIVE MODE');
  const started = Date.now();
  const err = await t.throwsAsync(s.dataPaths(), { instanceOf: DbError });
  t.is((err as DbError).reason, 'timeout');
  t.true(Date.now() - started < 3000, `${Date.now() - started} ms`);
  await holder.query('COMMIT');
  t.true((await s.dataPaths()).length >= 2, 'answered once the lock is gone');
});

test.serial('MariaDB, a user with no grants: the data directory, and the InnoDB directories made absolute', async (t) => {
  const { db } = t.context;
  const s = await session(t, { driver: 'mysql', host: db.host, port: db.port, user: 'plain', password_env: 'TEST_DATA_PATHS_PLAIN' });
  const paths = await s.dataPaths();
  const dataDir = join(db.dir, 'data');
  // innodb_data_home_dir empty and innodb_log_group_home_dir ../data/ are the data directory; innodb_undo_directory undo is in it.
  t.deepEqual(await real([paths[0]!]), await real([dataDir]));
  t.deepEqual(paths.slice(1), [join(paths[0]!, 'undo')]);
  t.true(paths.every((p) => p.startsWith('/') && !p.endsWith('/')), paths.join(' '));
});
