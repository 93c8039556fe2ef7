import test from 'ava';
import { startAll } from '../../helpers/db-process.js';
import { startMariadb, type MariadbServer } from '../../helpers/mariadb.js';
import { postgresServer, startReplica, type PostgresServer } from '../../helpers/postgres.js';
import { waitFor } from '../../helpers/tools.js';
import { sleep, testMonitor } from './monitor.js';

process.env.TEST_REPL_PASSWORD = 'repl-agent-pw';
const over = (server: PostgresServer) => ({ driver: 'postgres', host: server.host, port: server.port, user: 'harbinger', password_env: 'TEST_REPL_PASSWORD' });

test('PostgreSQL: a replica reports replication running and its lag (0 when caught up); the primary reports none', async (t) => {
  const primary = await postgresServer(t);
  await primary.query("CREATE ROLE harbinger LOGIN PASSWORD 'repl-agent-pw'");
  await primary.query('GRANT pg_monitor TO harbinger');
  await primary.query('CREATE TABLE ticks (at timestamptz)');
  const replica = await startReplica(primary);
  t.teardown(() => replica.destroy());
  const onPrimary = testMonitor(over(primary));
  const onReplica = testMonitor(over(replica));
  t.teardown(async () => Promise.all([onPrimary.stop(), onReplica.stop()]));

  const p = await onPrimary.round();
  t.true(p.up);
  t.is(p.status?.replication, undefined, 'a primary has no replication lag');

  const replicated = async (n: number) =>
    waitFor(`${n} rows on the replica`, async () => ((await replica.query<{ n: number }>('SELECT count(*)::int AS n FROM ticks'))[0]!.n === n ? true : undefined));
  await primary.query('INSERT INTO ticks VALUES (now())');
  await replicated(1);
  const caughtUp = await onReplica.round();
  t.true(caughtUp.up, JSON.stringify(caughtUp.lastError));
  t.deepEqual(caughtUp.status?.replication, { running: true, lagSeconds: 0 });

  // Replay paused: what arrives is not applied, and the lag is the age of the last applied commit.
  await replica.query('SELECT pg_wal_replay_pause()');
  await sleep(1500);
  await primary.query('INSERT INTO ticks VALUES (now())');
  await waitFor('WAL received but not replayed', async () =>
    (await replica.query<{ behind: boolean }>('SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn() AS behind'))[0]!.behind ? true : undefined,
  );
  const behind = await onReplica.round();
  t.true(behind.status!.replication!.lagSeconds! >= 1.5, JSON.stringify(behind.status));
  t.true(behind.status!.replication!.lagSeconds! < 30);

  await replica.query('SELECT pg_wal_replay_resume()');
  await replicated(2);
  t.deepEqual((await onReplica.round()).status?.replication, { running: true, lagSeconds: 0 });

  // The primary gone: the replica still answers, and says replication is not running.
  await primary.stop();
  const stopped = await waitFor('replication to stop', async () => {
    const r = await onReplica.round();
    return r.status?.replication?.running === false ? r : undefined;
  });
  t.true(stopped.up);
});

test('MariaDB: a replica reports replication running and its lag; a stopped SQL thread is not running; the primary reports none', async (t) => {
  const [primary, replica] = (await startAll([startMariadb({ args: ['--log-bin=primary-bin', '--server-id=1'] }), startMariadb({ args: ['--server-id=2'] })])) as [
    MariadbServer,
    MariadbServer,
  ];
  t.teardown(() => Promise.all([primary.destroy(), replica.destroy()]));
  await primary.query("CREATE USER repl@'%' IDENTIFIED BY 'repl-pw'");
  await primary.query("GRANT REPLICATION SLAVE ON *.* TO repl@'%'");
  const [position] = await primary.query<{ File: string; Position: number }>('SHOW MASTER STATUS');
  await replica.query(
    `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port}, MASTER_USER = 'repl', MASTER_PASSWORD = 'repl-pw', ` +
      `MASTER_LOG_FILE = '${position!.File}', MASTER_LOG_POS = ${position!.Position}, MASTER_USE_GTID = no`,
  );
  await replica.query('START SLAVE');
  // Everything from here on reaches the replica through replication, the agent's user included.
  await primary.query("CREATE USER harbinger@'%' IDENTIFIED BY 'repl-agent-pw'");
  await primary.query("GRANT SELECT ON performance_schema.* TO harbinger@'%'");
  await primary.query("GRANT SLAVE MONITOR ON *.* TO harbinger@'%'");
  await primary.query('CREATE DATABASE app');
  await primary.query('CREATE TABLE app.ticks (at datetime)');
  const rows = async () => Number((await replica.query<{ n: number }>('SELECT count(*) AS n FROM app.ticks'))[0]!.n);
  await waitFor('the table on the replica', async () => (await rows().catch(() => -1)) === 0 ? true : undefined);

  const on = (server: MariadbServer) => testMonitor({ driver: 'mysql', host: server.host, port: server.port, user: 'harbinger', password_env: 'TEST_REPL_PASSWORD' });
  const onPrimary = on(primary);
  const onReplica = on(replica);
  t.teardown(async () => Promise.all([onPrimary.stop(), onReplica.stop()]));
  t.is((await onPrimary.round()).status?.replication, undefined);
  const caughtUp = await onReplica.round();
  t.true(caughtUp.up, JSON.stringify(caughtUp.lastError));
  t.deepEqual(caughtUp.status?.replication, { running: true, lagSeconds: 0 });

  // A table lock on the replica holds the replicated insert back: the lag grows.
  const holder = await replica.connect();
  t.teardown(() => holder.end());
  await holder.query('LOCK TABLES app.ticks WRITE');
  await primary.query('INSERT INTO app.ticks VALUES (now())');
  await sleep(2500);
  const behind = await onReplica.round();
  await holder.query('UNLOCK TABLES');
  t.true(behind.status!.replication!.lagSeconds! >= 1, JSON.stringify(behind.status));
  t.true(behind.status!.replication!.running);
  await waitFor('the insert replicated', async () => ((await rows()) === 1 ? true : undefined));

  await replica.query('STOP SLAVE SQL_THREAD');
  const stopped = await onReplica.round();
  t.deepEqual(stopped.status?.replication, { running: false }, 'no lag figure while the SQL thread is stopped');
  t.true(stopped.up);
});
