import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { BalanceService } from '../../src/balance/service.js';
import type { TargetReading } from '../../src/collectors/db/target.js';
import { State } from '../../src/state.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { testMonitor, type TestMonitor } from '../collectors/db/monitor.js';
import { BALANCE_SETTINGS } from '../helpers/balance.js';

// Real servers: what the monitoring connection's failures mean for the load balancer.
const test = anyTest as TestFn<{ pg: PostgresServer; maria: MariadbServer }>;
const SETTINGS = BALANCE_SETTINGS;
const PASSWORD = 'fault-pw-5e1b';
process.env.TEST_FAULT_PASSWORD = PASSWORD;
process.env.TEST_FAULT_WRONG = 'rotated-elsewhere';

let pg: PostgresServer | undefined;
let maria: MariadbServer | undefined;
test.before(async (t) => {
  [pg, maria] = await Promise.all([startPostgres(), startMariadb()]);
  await pg.query(`CREATE ROLE watcher LOGIN PASSWORD '${PASSWORD}'`);
  await pg.query('CREATE DATABASE locked');
  await pg.query('REVOKE CONNECT ON DATABASE locked FROM PUBLIC');
  for (const sql of [`CREATE USER watcher@'%' IDENTIFIED BY '${PASSWORD}'`, 'CREATE DATABASE locked', 'CREATE DATABASE app', `GRANT SELECT ON app.* TO watcher@'%'`]) await maria.query(sql);
  t.context = { pg, maria };
});
test.after.always(async () => {
  await Promise.all([pg?.destroy(), maria?.destroy()]);
});

/** The balance decision with only this target's reading in the state. */
function decisionWith(...readings: TargetReading[]): ReturnType<BalanceService['status']> {
  const state = new State();
  state.setReading('db', { targets: readings }, 0);
  const service = new BalanceService(SETTINGS, () => 0);
  service.update(state, new Map());
  return service.status();
}

async function rounds(m: TestMonitor, n: number): Promise<TargetReading> {
  let r: TargetReading | undefined;
  for (let i = 0; i < n; i++) {
    m.advance(120_000); // past any reconnect backoff: every round is an attempt
    r = await m.round();
  }
  return r!;
}

const pgTarget = (extra: Record<string, unknown>) => ({ driver: 'postgres', host: pg!.host, port: pg!.port, user: 'watcher', database: 'postgres', password_env: 'TEST_FAULT_PASSWORD', ...extra });
const mariaTarget = (extra: Record<string, unknown>) => ({ driver: 'mysql', host: maria!.host, port: maria!.port, user: 'watcher', database: 'app', password_env: 'TEST_FAULT_PASSWORD', ...extra });

test.serial('monitoring faults on PostgreSQL and MariaDB leave the host up: a rotated password, a missing grant, a wrong query, a wrong socket path, an unknown user', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['pg: rotated password', pgTarget({ password_env: 'TEST_FAULT_WRONG' })],
    ['pg: no such user', pgTarget({ user: 'nosuchuser' })],
    ['pg: no CONNECT on the database', pgTarget({ database: 'locked' })],
    ['pg: a probe query that fails', pgTarget({ query: 'SELECT * FROM no_such_table' })],
    ['pg: a wrong socket path', { driver: 'postgres', socket: join(pg!.dir, 'not-here'), port: pg!.port, user: 'watcher' }],
    ['mariadb: rotated password', mariaTarget({ password_env: 'TEST_FAULT_WRONG' })],
    ['mariadb: no such user', mariaTarget({ user: 'nosuchuser' })],
    ['mariadb: no grant on the database', mariaTarget({ database: 'locked' })],
    ['mariadb: a probe query that fails', mariaTarget({ query: 'SELECT * FROM no_such_table' })],
    ['mariadb: a wrong socket path', { driver: 'mysql', socket: join(maria!.dir, 'not-here.sock'), user: 'watcher' }],
  ];
  for (const [name, raw] of cases) {
    const m = testMonitor(raw);
    const r = await rounds(m, 4);
    await m.stop();
    t.false(r.up, name);
    t.is(r.lastError?.fault, 'monitoring', `${name}: ${r.lastError?.reason} ${r.lastError?.message}`);
    t.is(r.unansweredProbes, 0, name);
    t.like(decisionWith(r), { state: 'up', weight: 100 }, name);
    t.true(
      m.logs().some((l) => l.msg === 'database probe failed' && l.fault === 'monitoring' && String(l.meaning).includes('does not change')),
      `${name}: one log line says it is a monitoring fault`,
    );
  }
});

test.serial('a stopped PostgreSQL takes the host down only after down_after probes, and back once it answers', async (t) => {
  const m = testMonitor(pgTarget({}));
  t.teardown(m.stop);
  t.true((await m.round()).up);
  await pg!.stop();
  t.teardown(() => pg!.start().catch(() => {}));
  const seen: Array<[number, string]> = [];
  for (let i = 0; i < 3; i++) {
    const r = await rounds(m, 1);
    t.is(r.lastError?.fault, 'unanswered', `${r.lastError?.reason}: ${r.lastError?.message}`);
    seen.push([r.unansweredProbes, decisionWith(r).state]);
  }
  t.deepEqual(seen, [
    [1, 'up'],
    [2, 'up'],
    [3, 'down'],
  ]);
  const down = decisionWith(m.monitor.snapshot());
  t.regex(down.reasons[0]!, /^database db does not answer \(3 probes in a row: connect/);
  // A target set to ignore never affects the balance, even down.
  t.like(decisionWith({ ...m.monitor.snapshot(), balance: 'ignore' }), { state: 'up', weight: 100 });
  await pg!.start();
  const back = await rounds(m, 1);
  t.true(back.up, JSON.stringify(back.lastError));
  t.is(back.unansweredProbes, 0);
  t.like(decisionWith(back), { state: 'up', weight: 100 });
});

test.serial('a stopped MariaDB: its vanished socket is an outage once it has answered there', async (t) => {
  const m = testMonitor({ driver: 'mysql', socket: maria!.socket, user: 'root' });
  t.teardown(m.stop);
  const first = await m.round();
  t.true(first.up, JSON.stringify(first.lastError));
  await maria!.stop();
  t.teardown(() => maria!.start().catch(() => {}));
  const r = await rounds(m, 3);
  t.is(r.lastError?.fault, 'unanswered', `${r.lastError?.reason}: ${r.lastError?.message}`);
  t.is(r.unansweredProbes, 3);
  t.is(decisionWith(r).state, 'down');
  await maria!.start();
  const back = await rounds(m, 1);
  t.true(back.up, JSON.stringify(back.lastError));
  t.is(decisionWith(back).state, 'up');
});
