import { realpath } from 'node:fs/promises';
import { dirname } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { currentRoles } from '../../src/balance/role-inputs.js';
import { StorageCollector } from '../../src/collectors/storage/index.js';
import { PREDICTIONS, State } from '../../src/state.js';
import { testMonitor } from '../collectors/db/monitor.js';
import { captureLogger } from '../helpers/logger.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { writeStorageTree } from '../helpers/storage-tree.js';
import { tempDir } from '../helpers/tmp.js';
import { BALANCE_SETTINGS } from '../helpers/balance.js';

// Real servers report where their data is; a fixture tree says which disk holds those paths.
const test = anyTest as TestFn<{ pg: PostgresServer; maria: MariadbServer }>;
const SETTINGS = BALANCE_SETTINGS;
let pg: PostgresServer | undefined;
let maria: MariadbServer | undefined;
test.before(async (t) => {
  [pg, maria] = await Promise.all([startPostgres(), startMariadb()]);
  await pg.query("CREATE ROLE monitor LOGIN PASSWORD 'mon-pw-41'");
  await pg.query('GRANT pg_monitor TO monitor');
  await pg.query("CREATE ROLE plain LOGIN PASSWORD 'plain-pw-41'");
  t.context = { pg, maria };
});
test.after.always(async () => {
  await Promise.all([pg?.destroy(), maria?.destroy()]);
});

/**
 * The host: the OS on sda1 (/), sdb1 mounted where PostgreSQL keeps its data, sdc1 where MariaDB
 * keeps its. The SMART disks are sda, sdb, sdc and sdd (empty).
 */
async function stateFor(t: Parameters<typeof tempDir>[0], pgDir: string, mariaDir: string): Promise<State> {
  const root = await tempDir(t);
  const disk = (name: string, minor: number) => ({ name, dev: `8:${minor}`, partitions: [{ name: `${name}1`, dev: `8:${minor + 1}` }] });
  const paths = await writeStorageTree(root, {
    disks: [disk('sda', 0), disk('sdb', 16), disk('sdc', 32), { name: 'sdd', dev: '8:48' }],
    mounts: [
      { dev: '8:1', at: '/', source: '/dev/sda1' },
      { dev: '8:17', at: pgDir, source: '/dev/sdb1' },
      { dev: '8:33', at: mariaDir, source: '/dev/sdc1' },
    ],
  });
  const state = new State();
  const storage = await new StorageCollector({ settings: { enabled: true, intervalMs: 1000, timeoutMs: 1000, options: {} }, paths, logger: captureLogger().logger }).collect(new AbortController().signal);
  state.setReading('storage', storage, 0);
  state.status('storage').enabled = true;
  const disks = ['sda', 'sdb', 'sdc', 'sdd'].map((d) => ({ disk: `wwn-${d}`, device: `/dev/${d}`, level: 'failing' }));
  state.setReading(PREDICTIONS, { disks, historyWriteErrors: 0 }, 0);
  return state;
}

test.serial('PostgreSQL and MariaDB report their data paths; the disks under them are data, the OS disk system, the empty one unused', async (t) => {
  const pgData = await realpath(pg!.dataDir);
  const pgMonitor = testMonitor({ name: 'pg', driver: 'postgres', host: pg!.host, port: pg!.port, user: 'monitor', database: 'postgres', password_env: 'TEST_ROLES_PG' });
  process.env.TEST_ROLES_PG = 'mon-pw-41';
  const mariaMonitor = testMonitor({ driver: 'mysql', socket: maria!.socket, user: 'root' });
  t.teardown(() => Promise.all([pgMonitor.stop(), mariaMonitor.stop()]));
  const [pgReading, mariaReading] = await Promise.all([pgMonitor.round(), mariaMonitor.round()]);
  t.true(pgReading.up && mariaReading.up);
  t.like(pgReading.dataPaths, { from: 'server', paths: [pgData, `${pgData}/pg_wal`] });
  const mariaPaths = (mariaReading.dataPaths as { paths: string[] }).paths;
  t.true(mariaPaths.length >= 1, JSON.stringify(mariaReading.dataPaths));

  // The mounts sit one level above each server's data directory, as /var/lib/postgresql does.
  const state = await stateFor(t, dirname(pgData), dirname(mariaPaths[0]!));
  state.setReading('db', { targets: [{ ...pgReading, name: 'pg' }, { ...mariaReading, name: 'maria' }] }, 0);
  const roles = currentRoles(state, SETTINGS);
  t.like(roles.get('wwn-sdb'), { role: 'data', targets: ['pg'], paths: [pgData, `${pgData}/pg_wal`] });
  t.like(roles.get('wwn-sdc'), { role: 'data', targets: ['maria'] });
  t.like(roles.get('wwn-sda'), { role: 'system', reason: 'carries / (no database data)' });
  t.like(roles.get('wwn-sdd'), { role: 'unused' });

  // A target set to ignore: its disk no longer counts as data.
  state.setReading('db', { targets: [{ ...pgReading, name: 'pg' }, { ...mariaReading, name: 'maria', balance: 'ignore' }] }, 0);
  t.like(currentRoles(state, SETTINGS).get('wwn-sdc'), { role: 'system' });
});

test.serial('a monitoring user without pg_monitor cannot see data_directory: the disks are unknown and say why, unless the target names its data_paths', async (t) => {
  process.env.TEST_ROLES_PLAIN = 'plain-pw-41';
  const plain = testMonitor({ name: 'pg', driver: 'postgres', host: pg!.host, port: pg!.port, user: 'plain', database: 'postgres', password_env: 'TEST_ROLES_PLAIN' });
  t.teardown(() => plain.stop());
  const reading = await plain.round();
  t.true(reading.up, 'the probe itself works');
  t.regex((reading.dataPaths as { problem: string }).problem, /GRANT pg_monitor TO plain/);
  t.true(plain.logs().some((l) => String(l.msg).includes('GRANT pg_monitor TO plain') && String(l.msg).includes('set data_paths on this target')));
  const pgData = await realpath(pg!.dataDir);
  const state = await stateFor(t, dirname(pgData), '/srv/none');
  state.setReading('db', { targets: [{ ...reading, name: 'pg' }] }, 0);
  const roles = currentRoles(state, SETTINGS);
  t.like(roles.get('wwn-sdb'), { role: 'unknown' });
  t.regex(roles.get('wwn-sdb')!.reason, /^where pg keeps its data is not known: no permission to read data_directory/);
  t.like(roles.get('wwn-sdd'), { role: 'unused' }, 'an empty disk holds no one\'s data, known or not');

  const configured = testMonitor({ name: 'pg', driver: 'postgres', host: pg!.host, port: pg!.port, user: 'plain', database: 'postgres', password_env: 'TEST_ROLES_PLAIN', data_paths: [pgData] });
  t.teardown(() => configured.stop());
  const named = await configured.round();
  t.like(named.dataPaths, { from: 'config', paths: [pgData] });
  state.setReading('db', { targets: [{ ...named, name: 'pg' }] }, 0);
  t.like(currentRoles(state, SETTINGS).get('wwn-sdb'), { role: 'data', targets: ['pg'] });
});
