import anyTest, { type TestFn } from 'ava';
import { connectionsOf, startMariadb, type MariadbServer } from '../../helpers/mariadb.js';
import { writeTemp } from '../../helpers/tmp.js';
import { settled, sleep, testMonitor } from './monitor.js';

// One server for the file; tests run one at a time because some stop it or count its connections.
const test = anyTest as TestFn<{ db: MariadbServer }>;
const AGENT = 'harbinger';
const PASSWORD = 'agent-pw-5d2e';
let server: MariadbServer | undefined;

test.before(async (t) => {
  server = await startMariadb();
  for (const sql of [
    `CREATE USER ${AGENT}@'%' IDENTIFIED BY '${PASSWORD}'`,
    `GRANT SELECT ON performance_schema.* TO ${AGENT}@'%'`,
    `GRANT SLAVE MONITOR ON *.* TO ${AGENT}@'%'`,
    "CREATE USER plain@'%' IDENTIFIED BY 'plain-pw'",
    'CREATE DATABASE app',
    'CREATE TABLE app.probe_t (id int)',
    'INSERT INTO app.probe_t VALUES (1)',
    `GRANT SELECT ON app.* TO ${AGENT}@'%'`,
  ]) {
    await server.query(sql);
  }
  t.context.db = server;
});
test.after.always(async () => {
  await server?.destroy();
});

process.env.TEST_MARIADB_PASSWORD = PASSWORD;
const over = (db: MariadbServer, extra: Record<string, unknown> = {}) => ({
  driver: 'mysql',
  host: db.host,
  port: db.port,
  user: AGENT,
  password_env: 'TEST_MARIADB_PASSWORD',
  ...extra,
});

test.serial('a probe over TCP: up, one observation, version, connections, max_connections, the program_name attribute', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db));
  t.teardown(m.stop);
  const r = await m.round();
  t.true(r.up, JSON.stringify(r.lastError));
  t.is(r.histogram.counts.reduce((a, b) => a + b, 0), 1);
  t.regex(r.version ?? '', /^10\.11\..*MariaDB/);
  t.is(r.status?.maxConnections, 60);
  t.true((r.status?.connections.active ?? 0) >= 1);
  t.is(r.status?.replication, undefined, 'not a replica');
  const attrs = await db.query<{ ATTR_VALUE: string }>("SELECT ATTR_VALUE FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name'");
  t.deepEqual(attrs.map((a) => a.ATTR_VALUE), ['harbinger']);
  t.is(await connectionsOf(db, AGENT), 1);
});

test.serial('a probe over the Unix socket, and a DSN with the password from password_file', async (t) => {
  const { db } = t.context;
  const socket = testMonitor({ driver: 'mysql', socket: db.socket, user: AGENT, password_env: 'TEST_MARIADB_PASSWORD' });
  const file = await writeTemp(t, 'my.pass', `${PASSWORD}\n`);
  const dsn = testMonitor({ driver: 'mysql', dsn: db.dsn(AGENT, 'app'), password_file: file });
  t.teardown(async () => Promise.all([socket.stop(), dsn.stop()]));
  const viaSocket = await socket.round();
  t.true(viaSocket.up, JSON.stringify(viaSocket.lastError));
  const viaDsn = await dsn.round();
  t.true(viaDsn.up, JSON.stringify(viaDsn.lastError));
});

test.serial('the latency histogram moves when the probe waits on a table lock', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db, { query: 'SELECT count(*) FROM app.probe_t' }));
  t.teardown(m.stop);
  const idle = await m.round();
  const holder = await db.connect();
  t.teardown(() => holder.end());
  await holder.query('LOCK TABLES app.probe_t WRITE');
  const release = sleep(300).then(() => holder.query('UNLOCK TABLES'));
  const loaded = await m.round();
  await release;
  t.true(loaded.up, JSON.stringify(loaded.lastError));
  t.is(loaded.histogram.counts[11]! - idle.histogram.counts[11]!, 1, `counts ${JSON.stringify(loaded.histogram.counts)}`);
  t.true(idle.lastLatencySeconds! < 0.05);
});

test.serial('performance_schema figures match what was run: calls and mean time of the top statements, and totals', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db, { statements: { top_k: 3, query_text: true } }));
  t.teardown(m.stop);
  const first = await m.round();
  t.true(first.statementsAvailable);
  const client = await db.connect();
  for (let i = 0; i < 40; i++) await client.query('SELECT SLEEP(0.01) AS top_statement_marker');
  for (let i = 0; i < 25; i++) await client.query('SELECT ? AS cheap_marker', [i]);
  await client.end();
  m.advance(15_000);
  const r = await m.round();
  const top = r.statements!.top;
  const sleeper = top.find((s) => r.statements!.texts[s.digest]?.includes('top_statement_marker'));
  t.truthy(sleeper, JSON.stringify(r.statements));
  t.is(top[0], sleeper);
  t.is(sleeper!.calls, 40);
  t.true(sleeper!.meanSeconds >= 0.01 && sleeper!.meanSeconds < 0.05, `mean ${sleeper!.meanSeconds}`);
  t.true(r.statements!.windowSeconds >= 15);
  const [row] = await db.query<{ calls: number; seconds: number }>(
    "SELECT COUNT_STAR AS calls, SUM_TIMER_WAIT / 1e12 AS seconds FROM performance_schema.events_statements_summary_by_digest WHERE DIGEST_TEXT LIKE '%top_statement_marker%'",
  );
  t.is(Number(row!.calls), 40);
  t.true(Math.abs(sleeper!.seconds - Number(row!.seconds)) < 1e-6, 'the seconds are the server\'s own');
  t.true(r.statements!.total.calls >= 65, `total ${r.statements!.total.calls}`);
});

const sleepingQueries = (db: MariadbServer) =>
  db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE '%SLEEP(30)%' AND ID <> CONNECTION_ID()");

test.serial('a probe slower than the timeout is cancelled on the server (max_statement_time)', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db, { query: 'SELECT SLEEP(30)' }), 500);
  t.teardown(m.stop);
  const started = Date.now();
  const r = await m.round();
  t.true(Date.now() - started < 3000);
  t.false(r.up);
  t.is(r.lastError?.reason, 'timeout');
  t.deepEqual(await sleepingQueries(db), []);
  t.is(await connectionsOf(db, AGENT), 1, 'the connection was kept');
});

test.serial('a probe that turns max_statement_time off is still cancelled, from a side connection (KILL QUERY)', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db, { query: 'SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(30)' }), 500);
  t.teardown(m.stop);
  const r = await m.round();
  t.is(r.lastError?.reason, 'timeout');
  t.regex(r.lastError!.message, /cancelled on the server/);
  await sleep(100);
  t.deepEqual(await sleepingQueries(db), []);
  t.is(await connectionsOf(db, AGENT), 1, 'the side connection is gone, the probe connection kept');
});

test.serial('reasons: a wrong password is auth, a failing query is query, a closed port is connect', async (t) => {
  const { db } = t.context;
  process.env.TEST_MARIADB_WRONG = 'not-the-password';
  const wrong = testMonitor(over(db, { password_env: 'TEST_MARIADB_WRONG' }));
  const bad = testMonitor(over(db, { query: 'SELECT * FROM app.no_such_table' }));
  const closed = testMonitor({ driver: 'mysql', host: '127.0.0.1', port: 1, user: AGENT });
  t.teardown(async () => Promise.all([wrong.stop(), bad.stop(), closed.stop()]));
  t.is((await wrong.round()).lastError?.reason, 'auth');
  t.is((await bad.round()).lastError?.reason, 'query');
  t.is((await closed.round()).lastError?.reason, 'connect');
});

test.serial('1,000 consecutive failing probes: the server\'s connection count stays flat', async (t) => {
  const { db } = t.context;
  const failing = testMonitor(over(db, { query: 'SELECT * FROM app.no_such_table' }));
  process.env.TEST_MARIADB_WRONG = 'not-the-password';
  const refused = testMonitor(over(db, { password_env: 'TEST_MARIADB_WRONG' }));
  const slow = testMonitor(over(db, { query: 'SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(30)' }), 200);
  t.teardown(async () => Promise.all([failing.stop(), refused.stop(), slow.stop()]));
  const everyone = async () => Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()'))[0]!.n);
  const before = await everyone();
  const samples: number[] = [];
  for (let i = 0; i < 1000; i++) {
    await failing.round();
    refused.advance(120_000); // past the reconnect backoff: every round tries to log in again
    await refused.round();
    // The server ends a refused login's session on its own time: a leak is what is still there a moment later.
    if (i % 100 === 0) samples.push(await settled(() => connectionsOf(db, AGENT)));
  }
  for (let i = 0; i < 20; i++) await slow.round();
  t.is(failing.monitor.snapshot().errorsTotal.query, 1000);
  t.is(refused.monitor.snapshot().errorsTotal.auth, 1000);
  t.is(slow.monitor.snapshot().errorsTotal.timeout, 20);
  t.true(samples.every((n) => n === 1), `the agent's connections while failing: ${samples.join(' ')}`);
  // KILL QUERY side connections end asynchronously on the server.
  t.is(await settled(() => connectionsOf(db, AGENT), 2), 2, 'the failing and the slow monitor\'s connections; no side connection left');
  t.is(await settled(everyone, before + 2), before + 2);
});

test.serial('the server stopped and restarted: up goes 0 then 1, the outage counted as connect', async (t) => {
  const { db } = t.context;
  const m = testMonitor(over(db));
  t.teardown(m.stop);
  t.true((await m.round()).up);
  await db.stop();
  const down = await m.round();
  t.false(down.up);
  t.is(down.lastError?.reason, 'connect');
  await db.start();
  m.advance(2_000);
  const up = await m.round();
  t.true(up.up, JSON.stringify(up.lastError));
  t.is(up.errorsTotal.connect, 1);
  t.is(await connectionsOf(db, AGENT), 1);
});

test.serial('a user without grants on performance_schema or replication: one clear log line each, and the probe keeps working', async (t) => {
  const { db } = t.context;
  process.env.TEST_MARIADB_PLAIN = 'plain-pw';
  const m = testMonitor(over(db, { user: 'plain', password_env: 'TEST_MARIADB_PLAIN' }));
  t.teardown(m.stop);
  for (let i = 0; i < 3; i++) {
    const r = await m.round();
    t.true(r.up, JSON.stringify(r.lastError));
    t.false(r.statementsAvailable);
    t.is(r.status?.maxConnections, 60, 'connection counts need no grant on MariaDB');
    m.advance(15_000);
  }
  const messages = m.logs().filter((l) => l.level === 40).map((l) => String(l.msg));
  t.is(messages.length, 2, messages.join('\n'));
  t.true(messages.some((msg) => msg.startsWith("no permission to read performance_schema: GRANT SELECT ON performance_schema.* TO 'plain'")), messages.join('\n'));
  t.true(messages.some((msg) => msg.startsWith("replication status is not visible: GRANT SLAVE MONITOR ON *.* TO 'plain'")), messages.join('\n'));
});

test.serial('a query whose cancel cannot get through is ended from the next connection (KILL CONNECTION)', async (t) => {
  const { db } = t.context;
  await db.query("CREATE USER lonely@'%' IDENTIFIED BY 'lonely-pw'");
  await db.query('CREATE TABLE app.sleep_flag (v int)');
  await db.query('INSERT INTO app.sleep_flag VALUES (0)');
  await db.query("GRANT SELECT ON app.sleep_flag TO lonely@'%'");
  process.env.TEST_MARIADB_LONELY = 'lonely-pw';
  const m = testMonitor(
    over(db, { user: 'lonely', password_env: 'TEST_MARIADB_LONELY', query: 'SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(IF(v = 1, 30, 0)) FROM app.sleep_flag' }),
    300,
  );
  t.teardown(m.stop);
  const sleeping = () => db.query("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'lonely' AND COMMAND = 'Query' AND INFO LIKE '%SLEEP%'");
  t.true((await m.round()).up);
  // No new logins for the user: the KILL QUERY side connection is refused.
  await db.query("ALTER USER lonely@'%' ACCOUNT LOCK");
  await db.query('UPDATE app.sleep_flag SET v = 1');
  const stuck = await m.round();
  t.is(stuck.lastError?.reason, 'timeout');
  t.regex(stuck.lastError!.message, /cancelling it failed.*the connection was closed/);
  t.is((await sleeping()).length, 1, 'the query outlived its connection');
  t.is((await m.round()).lastError?.reason, 'auth', 'reconnecting is refused too');
  await db.query("ALTER USER lonely@'%' ACCOUNT UNLOCK");
  await db.query('UPDATE app.sleep_flag SET v = 0');
  m.advance(120_000);
  const back = await m.round();
  t.true(back.up, JSON.stringify(back.lastError));
  await sleep(200);
  t.deepEqual(await sleeping(), [], 'the next connection ended it');
  t.is(await connectionsOf(db, 'lonely'), 1);
});
