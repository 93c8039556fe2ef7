import { execFile } from 'node:child_process';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { findProgram, postgresBinDirs } from '../../helpers/db-process.js';
import { connectionsOf, startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { writeTemp } from '../../helpers/tmp.js';
import { settled, sleep, testMonitor } from './monitor.js';

// One server for the file; tests run one at a time because some stop it or count its connections.
const test = anyTest as TestFn<{ pg: PostgresServer }>;
const AGENT = 'harbinger';
const PASSWORD = 'agent-pw-91c4';
let server: PostgresServer | undefined;

test.before(async (t) => {
  server = await startPostgres();
  await server.query(`CREATE ROLE ${AGENT} LOGIN PASSWORD '${PASSWORD}'`);
  await server.query(`GRANT pg_monitor TO ${AGENT}`);
  await server.query('CREATE ROLE plain LOGIN PASSWORD \'plain-pw\'');
  await server.query('CREATE DATABASE app');
  await server.query('CREATE DATABASE noext');
  await server.query('CREATE EXTENSION pg_stat_statements', [], 'app');
  await server.query('CREATE TABLE probe_t (id int); INSERT INTO probe_t VALUES (1); GRANT SELECT ON probe_t TO harbinger', [], 'app');
  t.context.pg = server;
});
test.after.always(async () => {
  await server?.destroy();
});

const over = (pg: PostgresServer, extra: Record<string, unknown> = {}) => ({
  driver: 'postgres',
  host: pg.host,
  port: pg.port,
  user: AGENT,
  database: 'app',
  ...extra,
});
// password_env is read from process.env at each connection.
process.env.TEST_PG_PASSWORD = PASSWORD;
const withPassword = { password_env: 'TEST_PG_PASSWORD' };

test.serial('a probe over TCP: up, one observation, the server version, connections and max_connections', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, withPassword));
  t.teardown(m.stop);
  const r = await m.round();
  t.true(r.up, JSON.stringify(r.lastError));
  t.is(r.histogram.counts.reduce((a, b) => a + b, 0), 1);
  t.true(r.histogram.sum > 0 && r.histogram.sum < 1);
  t.regex(r.version ?? '', /^15\./);
  t.is(r.status?.maxConnections, 60);
  t.true((r.status?.connections.active ?? 0) >= 1, 'the agent\'s own query is active while it counts');
  t.deepEqual(r.errorsTotal, { connect: 0, auth: 0, timeout: 0, query: 0 });
  const seen = await pg.query<{ application_name: string; state: string }>('SELECT application_name, state FROM pg_stat_activity WHERE usename = $1', [AGENT]);
  t.deepEqual(seen, [{ application_name: 'harbinger', state: 'idle' }], 'one long-lived connection, named, idle between rounds');
});

test.serial('a probe over the Unix socket (directory or socket file), without a password (trust)', async (t) => {
  const { pg } = t.context;
  const ways = [
    { socket: pg.dir, port: pg.port },
    { socket: join(pg.dir, `.s.PGSQL.${pg.port}`) },
  ];
  for (const { socket, port } of ways) {
    const m = testMonitor({ driver: 'postgres', socket, ...(port ? { port } : {}), user: AGENT, database: 'app' });
    const r = await m.round();
    await m.stop();
    t.true(r.up, `${socket}: ${JSON.stringify(r.lastError)}`);
  }
});

test.serial('a DSN, with the password from password_file', async (t) => {
  const { pg } = t.context;
  const file = await writeTemp(t, 'pg.pass', `${PASSWORD}\n`);
  const m = testMonitor({ driver: 'postgres', dsn: pg.dsn(AGENT, 'app'), password_file: file });
  t.teardown(m.stop);
  const r = await m.round();
  t.true(r.up, JSON.stringify(r.lastError));
});

test.serial('the latency histogram moves when the probe waits on a lock', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, { ...withPassword, query: 'SELECT count(*) FROM probe_t' }));
  t.teardown(m.stop);
  const idle = await m.round();
  const holder = await pg.connect('app');
  t.teardown(() => holder.end());
  await holder.query('BEGIN; LOCK TABLE probe_t IN ACCESS EXCLUSIVE MODE');
  const release = sleep(300).then(() => holder.query('COMMIT'));
  const loaded = await m.round();
  await release;
  t.true(loaded.up);
  // Buckets …, 0.25, 0.5, …: the 300 ms wait lands in (0.25, 0.5].
  const le = (r: typeof idle, i: number) => r.histogram.counts[i]!;
  t.is(le(loaded, 11) - le(idle, 11), 1, `counts ${JSON.stringify(loaded.histogram.counts)}`);
  t.true(loaded.lastLatencySeconds! >= 0.3 && loaded.lastLatencySeconds! < 0.5);
  t.true(idle.lastLatencySeconds! < 0.05);
});

test.serial('the latency histogram moves when pgbench loads the server', async (t) => {
  const { pg } = t.context;
  const pgbench = findProgram('pgbench', 'postgresql-client', postgresBinDirs());
  const m = testMonitor(over(pg, withPassword));
  t.teardown(m.stop);
  const mean = async (rounds: number) => {
    const before = await m.round();
    for (let i = 1; i < rounds; i++) await m.round();
    const after = m.monitor.snapshot();
    const n = after.histogram.counts.reduce((a, b) => a + b, 0) - before.histogram.counts.reduce((a, b) => a + b, 0);
    return (after.histogram.sum - before.histogram.sum) / n;
  };
  const idle = await mean(30);
  // Eight clients each burning CPU in the server: twice as many busy backends as this machine's cores, or more.
  const script = await writeTemp(t, 'burn.sql', 'SELECT count(*) FROM generate_series(1, 300000);\n');
  const bench = new Promise<string>((resolve, reject) =>
    execFile(pgbench, ['-n', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-c', '8', '-j', '2', '-T', '4', '-f', script, 'app'], { env: { ...process.env, PGPASSWORD: 'pg-admin-password-7f3a' } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  await sleep(500);
  const loaded = await mean(30);
  const out = await bench;
  t.regex(out, /number of transactions actually processed: [1-9]/);
  t.log(`mean probe latency idle ${(idle * 1000).toFixed(3)} ms, under pgbench ${(loaded * 1000).toFixed(3)} ms`);
  t.true(loaded > idle * 2, `mean probe latency idle ${(idle * 1000).toFixed(3)} ms, under pgbench ${(loaded * 1000).toFixed(3)} ms`);
});

test.serial('pg_stat_statements figures match what was run: calls and mean time of the top statements, and totals', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, { ...withPassword, statements: { top_k: 3, query_text: true } }));
  t.teardown(m.stop);
  const first = await m.round();
  t.true(first.statementsAvailable);
  t.is(first.statements, undefined, 'one reading has nothing to compare with');
  const client = await pg.connect('app');
  for (let i = 0; i < 40; i++) await client.query('SELECT pg_sleep(0.01) AS top_statement_marker');
  for (let i = 0; i < 25; i++) await client.query('SELECT $1::int AS cheap_marker', [i]);
  await client.end();
  m.advance(15_000);
  const r = await m.round();
  const top = r.statements!.top;
  t.true(top.length <= 3);
  const sleeper = top.find((s) => r.statements!.texts[s.digest]?.includes('top_statement_marker'));
  t.truthy(sleeper, JSON.stringify(r.statements));
  t.is(top[0], sleeper, 'the statement with the most time is first');
  t.is(sleeper!.calls, 40);
  t.is(sleeper!.database, 'app');
  t.is(sleeper!.user, 'postgres');
  t.true(sleeper!.meanSeconds >= 0.01 && sleeper!.meanSeconds < 0.05, `mean ${sleeper!.meanSeconds}`);
  t.true(Math.abs(sleeper!.callsPerSecond - 40 / r.statements!.windowSeconds) < 1e-9);
  t.true(r.statements!.windowSeconds >= 15);
  const [pgss] = await pg.query<{ calls: number; ms: number }>(
    "SELECT calls::int, total_exec_time AS ms FROM pg_stat_statements WHERE query LIKE '%top_statement_marker%'",
    [],
    'app',
  );
  t.true(Math.abs(sleeper!.seconds - pgss!.ms / 1000) < 1e-6, 'the seconds are the server\'s own');
  t.true(r.statements!.total.calls >= 40 + 25, `total ${r.statements!.total.calls}`);
  t.true(r.statements!.total.seconds >= sleeper!.seconds);
});

test.serial('a probe slower than the timeout is cancelled on the server (statement_timeout)', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, { ...withPassword, query: 'SELECT pg_sleep(30)' }), 500);
  t.teardown(m.stop);
  const started = Date.now();
  const r = await m.round();
  t.true(Date.now() - started < 3000);
  t.false(r.up);
  t.is(r.lastError?.reason, 'timeout');
  t.is(r.errorsTotal.timeout, 1);
  const sleeping = await pg.query("SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()");
  t.deepEqual(sleeping, [], 'nothing still sleeping on the server');
  t.is(await connectionsOf(pg, AGENT), 1, 'the connection was kept');
});

test.serial('a probe that turns statement_timeout off is still cancelled, from a side connection (pg_cancel_backend)', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, { ...withPassword, query: 'SET statement_timeout = 0; SELECT pg_sleep(30)' }), 500);
  t.teardown(m.stop);
  const r = await m.round();
  t.is(r.lastError?.reason, 'timeout');
  t.regex(r.lastError!.message, /cancelled on the server/);
  await sleep(100);
  const sleeping = await pg.query("SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND state = 'active' AND pid <> pg_backend_pid()");
  t.deepEqual(sleeping, []);
  t.is(await connectionsOf(pg, AGENT), 1, 'the side connection is gone, the probe connection kept');
});

test.serial('reasons: a wrong password is auth, a failing query is query, a closed port is connect', async (t) => {
  const { pg } = t.context;
  process.env.TEST_PG_WRONG = 'not-the-password';
  const wrong = testMonitor(over(pg, { password_env: 'TEST_PG_WRONG' }));
  const bad = testMonitor(over(pg, { ...withPassword, query: 'SELECT * FROM no_such_table' }));
  const closed = testMonitor({ driver: 'postgres', host: '127.0.0.1', port: 1, user: AGENT });
  t.teardown(async () => Promise.all([wrong.stop(), bad.stop(), closed.stop()]));
  t.is((await wrong.round()).lastError?.reason, 'auth');
  t.is((await bad.round()).lastError?.reason, 'query');
  t.is((await closed.round()).lastError?.reason, 'connect');
  t.is(wrong.logs().filter((l) => l.msg === 'database probe failed').length, 1);
});

test.serial('1,000 consecutive failing probes: the server\'s connection count stays flat', async (t) => {
  const { pg } = t.context;
  const failing = testMonitor(over(pg, { ...withPassword, query: 'SELECT * FROM no_such_table' }));
  process.env.TEST_PG_WRONG = 'not-the-password';
  const refused = testMonitor(over(pg, { password_env: 'TEST_PG_WRONG' }));
  const slow = testMonitor(over(pg, { ...withPassword, query: 'SET statement_timeout = 0; SELECT pg_sleep(30)' }), 200);
  t.teardown(async () => Promise.all([failing.stop(), refused.stop(), slow.stop()]));
  const everyone = async () => (await pg.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid()'))[0]!.n;
  const before = await everyone();
  const samples: number[] = [];
  for (let i = 0; i < 1000; i++) {
    await failing.round();
    refused.advance(120_000); // past the reconnect backoff: every round tries to log in again
    await refused.round();
    // The server ends a refused login's session on its own time: a leak is what is still there a moment later.
    if (i % 100 === 0) samples.push(await settled(() => connectionsOf(pg, AGENT)));
  }
  for (let i = 0; i < 20; i++) await slow.round();
  const after = await settled(everyone, before + 2);
  const byName = await pg.query<{ application_name: string; n: number }>(
    'SELECT application_name, count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 GROUP BY 1',
    [AGENT],
  );
  const f = failing.monitor.snapshot();
  const r = refused.monitor.snapshot();
  t.is(f.errorsTotal.query, 1000);
  t.is(r.errorsTotal.auth, 1000);
  t.is(slow.monitor.snapshot().errorsTotal.timeout, 20);
  t.true(samples.every((n) => n === 1), `the agent's connections while failing: ${samples.join(' ')}`);
  t.deepEqual(byName, [{ application_name: 'harbinger', n: 2 }], 'the failing and the slow monitor\'s connections; no cancel connection left');
  t.is(after, before + 2, 'nothing else was left open');
  t.is(failing.logs().filter((l) => l.msg === 'database probe failed').length, 1, 'one log line, not one per failure');
});

test.serial('the server stopped and restarted: up goes 0 then 1, the outage counted as connect', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, withPassword));
  t.teardown(m.stop);
  t.true((await m.round()).up);
  await pg.stop();
  const down = await m.round();
  t.false(down.up);
  t.is(down.lastError?.reason, 'connect');
  const again = await m.round(); // backing off: no new attempt, no new error
  t.is(again.errorsTotal.connect, 1);
  await pg.start();
  m.advance(2_000);
  const up = await m.round();
  t.true(up.up, JSON.stringify(up.lastError));
  t.is(up.errorsTotal.connect, 1);
  t.is(await connectionsOf(pg, AGENT), 1);
  t.truthy(m.logs().find((l) => l.msg === 'database answers again'));
});

test.serial('a database without pg_stat_statements: one clear log line, and the probe keeps working', async (t) => {
  const { pg } = t.context;
  const m = testMonitor(over(pg, { ...withPassword, database: 'noext' }));
  t.teardown(m.stop);
  for (let i = 0; i < 3; i++) {
    const r = await m.round();
    t.true(r.up);
    t.false(r.statementsAvailable);
    m.advance(15_000);
  }
  const lines = m.logs().filter((l) => /pg_stat_statements/.test(String(l.msg)));
  t.is(lines.length, 1, JSON.stringify(lines));
  t.regex(String(lines[0]!.msg), /shared_preload_libraries.*CREATE EXTENSION pg_stat_statements/);
  t.is(lines[0]!.level, 40);
});

test.serial('a user without pg_read_all_stats: told what to grant; statistics still read', async (t) => {
  const { pg } = t.context;
  process.env.TEST_PG_PLAIN = 'plain-pw';
  const m = testMonitor(over(pg, { user: 'plain', password_env: 'TEST_PG_PLAIN' }));
  t.teardown(m.stop);
  await pg.query('SELECT 1', [], 'app'); // a statement of another user
  const other = await pg.connect('app'); // and a connection of another user
  t.teardown(() => other.end());
  const r = await m.round();
  t.true(r.up);
  t.true(r.statementsAvailable);
  const messages = m.logs().map((l) => String(l.msg));
  t.true(messages.some((msg) => msg.includes('GRANT pg_read_all_stats TO plain')), messages.join('\n'));
  t.true(messages.some((msg) => msg.includes('GRANT pg_monitor TO plain')), messages.join('\n'));
});

test.serial('a query whose cancel cannot get through is ended from the next connection (pg_terminate_backend)', async (t) => {
  const { pg } = t.context;
  await pg.query("CREATE ROLE lonely LOGIN PASSWORD 'lonely-pw'");
  await pg.query('CREATE TABLE sleep_flag (on_ boolean); INSERT INTO sleep_flag VALUES (false); GRANT SELECT ON sleep_flag TO lonely', [], 'app');
  process.env.TEST_PG_LONELY = 'lonely-pw';
  // The probe sleeps only when told to, and turns the server-side limit off.
  const m = testMonitor(
    over(pg, { user: 'lonely', password_env: 'TEST_PG_LONELY', query: 'SET statement_timeout = 0; SELECT pg_sleep(CASE WHEN on_ THEN 30 ELSE 0 END) FROM sleep_flag' }),
    300,
  );
  t.teardown(m.stop);
  const sleeping = () => pg.query("SELECT pid FROM pg_stat_activity WHERE usename = 'lonely' AND state = 'active' AND query LIKE '%pg_sleep%'");
  t.true((await m.round()).up);
  // No new logins for the role: the cancel's side connection is refused.
  await pg.query('ALTER ROLE lonely NOLOGIN');
  await pg.query('UPDATE sleep_flag SET on_ = true', [], 'app');
  const stuck = await m.round();
  t.is(stuck.lastError?.reason, 'timeout');
  t.regex(stuck.lastError!.message, /cancelling it failed.*the connection was closed/);
  t.is((await sleeping()).length, 1, 'the query outlived its connection');
  t.is((await m.round()).lastError?.reason, 'auth', 'reconnecting is refused too');
  await pg.query('ALTER ROLE lonely LOGIN');
  await pg.query('UPDATE sleep_flag SET on_ = false', [], 'app');
  m.advance(120_000);
  const back = await m.round();
  t.true(back.up, JSON.stringify(back.lastError));
  await sleep(100);
  t.deepEqual(await sleeping(), [], 'the next connection ended it');
  t.is(await connectionsOf(pg, 'lonely'), 1);
  t.truthy(m.logs().find((l) => l.msg === 'ended the server side of a connection given up after a timeout'));
});
