#!/usr/bin/env node
// What the agent costs the databases it watches, at default settings: the queries it sends per
// minute, their execution time as the servers count it (pg_stat_statements,
// performance_schema), and the CPU time of the server process or thread that serves the agent's
// connection (/proc), as a share of one core.
//
//   npx tsc -p . && node scripts/bench-db.mjs [--duration 120] [--statements 2000]
//
// It starts a real PostgreSQL and MariaDB in temporary directories (the test harness in
// dist/test/helpers; Debian's postgresql and mariadb-server), fills their statement statistics
// with --statements distinct statements (the agent reads all of them every interval), and runs
// bin/harbinger with the default interval, timeout and statements settings against both.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanup, freePort, onCleanup, root, start, waitServing } from './bench-lib.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '120' },
    statements: { type: 'string', default: '2000' },
  },
});
const durationS = Number(values.duration);
const fill = Number(values.statements);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const helpers = (name) => import(join(root, 'dist/test/helpers', name));
const { startPostgres } = await helpers('postgres.js');
const { startMariadb } = await helpers('mariadb.js');

const cpuSeconds = (statPath) => {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
};

console.error('starting PostgreSQL and MariaDB…');
const { startAll } = await helpers('db-process.js');
const [pg, maria] = await startAll([
  startPostgres({ settings: { 'pg_stat_statements.max': String(Math.max(5000, fill * 2)) } }),
  startMariadb({ args: [`--performance-schema-digests-size=${Math.max(10000, fill * 2)}`] }),
]);
const dir = mkdtempSync(join(tmpdir(), 'harbinger-bench-db-'));
// Run by cleanup() at the end, on Ctrl-C and when the agent dies early (bench-lib.mjs).
onCleanup(() => Promise.all([pg.destroy(), maria.destroy()]));
onCleanup(() => rmSync(dir, { recursive: true, force: true }));

try {
  const PG_PASSWORD = 'bench-pg-password';
  const MARIA_PASSWORD = 'bench-maria-password';
  await pg.query(`CREATE ROLE harbinger LOGIN PASSWORD '${PG_PASSWORD}'`);
  await pg.query('GRANT pg_monitor TO harbinger');
  await pg.query('CREATE EXTENSION pg_stat_statements');
  for (const sql of [
    `CREATE USER harbinger@'%' IDENTIFIED BY '${MARIA_PASSWORD}'`,
    "GRANT SELECT ON performance_schema.* TO harbinger@'%'",
    "GRANT SLAVE MONITOR ON *.* TO harbinger@'%'",
  ]) {
    await maria.query(sql);
  }

  // Distinct statements, so that the statistics the agent reads are not a toy table. After
  // normalization PostgreSQL tells statements apart by their shape (here: the number of columns
  // and of conditions), MariaDB's digest also by their identifiers (here: a column alias).
  console.error(`filling the statement statistics with ${fill} distinct statements…`);
  const pgClient = await pg.connect();
  const mariaClient = await maria.connect();
  const repeat = (n, text, sep) => Array.from({ length: n }, () => text).join(sep);
  for (let i = 0; i < fill; i++) {
    await pgClient.query(`SELECT ${repeat((i % 50) + 1, '1', ', ')} WHERE ${repeat(Math.floor(i / 50) + 1, 'true', ' AND ')}`);
    await mariaClient.query(`SELECT 1 AS c${i}`);
  }
  const [{ n: pgRows }] = (await pgClient.query('SELECT count(*)::int AS n FROM pg_stat_statements')).rows;
  const [[{ n: mariaRows }]] = await mariaClient.query('SELECT count(*) AS n FROM performance_schema.events_statements_summary_by_digest');
  await pgClient.end();
  await mariaClient.end();

  const config = join(dir, 'harbinger.yml');
  writeFileSync(
    config,
    [
      'collector:',
      '  smart: {enabled: false}',
      '  db:',
      '    targets:',
      `      - {name: pg, driver: postgres, host: 127.0.0.1, port: ${pg.port}, password_env: BENCH_PG_PASSWORD}`,
      `      - {name: maria, driver: mysql, host: 127.0.0.1, port: ${maria.port}, password_env: BENCH_MARIA_PASSWORD}`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  start('harbinger', join(root, 'bin/harbinger'), ['run', '--config', config, '--web.listen-address', `127.0.0.1:${port}`, '--state-dir', dir], {
    ...process.env,
    BENCH_PG_PASSWORD: PG_PASSWORD,
    BENCH_MARIA_PASSWORD: MARIA_PASSWORD,
  });
  await waitServing(port);

  // The agent's one connection to each server: PostgreSQL's backend process, MariaDB's thread.
  const waitFor = async (what, probe) => {
    for (let i = 0; i < 100; i++) {
      const value = await probe();
      if (value !== undefined) return value;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${what}`);
  };
  const pgBackend = await waitFor('agent backend', async () => (await pg.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'harbinger'"))[0]?.pid);
  const mariaThread = await waitFor('agent thread', async () => (await maria.query("SELECT THREAD_OS_ID AS tid FROM performance_schema.threads WHERE PROCESSLIST_USER = 'harbinger'"))[0]?.tid);
  const pgStat = `/proc/${pgBackend}/stat`;
  const mariaStat = `/proc/${maria.pid}/task/${mariaThread}/stat`;

  const pgTotals = async () =>
    (
      await pg.query(
        "SELECT coalesce(sum(calls), 0)::float8 AS calls, coalesce(sum(total_exec_time + total_plan_time), 0)::float8 / 1000 AS seconds FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = 'harbinger'",
      )
    )[0];
  const mariaTotals = async () => {
    const [row] = await maria.query(
      "SELECT coalesce(sum(COUNT_STAR), 0) AS calls, coalesce(sum(SUM_TIMER_WAIT), 0) / 1e12 AS seconds FROM performance_schema.events_statements_summary_by_user_by_event_name WHERE USER = 'harbinger'",
    );
    return { calls: Number(row.calls), seconds: Number(row.seconds) };
  };

  const before = { pg: await pgTotals(), maria: await mariaTotals(), pgCpu: cpuSeconds(pgStat), mariaCpu: cpuSeconds(mariaStat), at: Date.now() };
  const progress = process.stderr.isTTY;
  while (Date.now() - before.at < durationS * 1000) {
    const left = durationS * 1000 - (Date.now() - before.at);
    if (progress) process.stderr.write(`\r${Math.ceil(left / 1000)} s left   `);
    await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, left))));
  }
  if (progress) process.stderr.write('\r\n');
  const elapsed = (Date.now() - before.at) / 1000;
  const after = { pg: await pgTotals(), maria: await mariaTotals(), pgCpu: cpuSeconds(pgStat), mariaCpu: cpuSeconds(mariaStat) };
  // The same connection from start to end: nothing reconnected, nothing leaked.
  const pgNow = (await pg.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'harbinger'")).map((r) => r.pid);
  const mariaNow = (await maria.query("SELECT THREAD_OS_ID AS tid FROM performance_schema.threads WHERE PROCESSLIST_USER = 'harbinger'")).map((r) => r.tid);
  const health = await (await fetch(`http://127.0.0.1:${port}/health`)).json();

  // Our own measuring queries run as other users, so they are not in the agent's figures.
  const minutes = elapsed / 60;
  const row = (name, calls, seconds, cpu, rows, same) => {
    const perMinute = calls / minutes;
    return `| ${name} | ${rows} | ${perMinute.toFixed(1)} | ${((seconds / minutes) * 1000).toFixed(1)} ms | ${((seconds / elapsed) * 100).toFixed(4)}% | ${((cpu / elapsed) * 100).toFixed(4)}% | ${same ? 'yes' : 'NO'} |`;
  };
  const version = (target) => health.databases.find((d) => d.target === target);
  console.log(`bench-db: ${elapsed.toFixed(0)} s at default settings (interval 15s, statements top_k 10); up: pg ${version('pg').up}, maria ${version('maria').up}\n`);
  console.log('| server | statements in its statistics | agent queries per minute | their server time per minute | as % of one core | CPU of the backend/thread serving the agent | one connection throughout |');
  console.log('|---|---|---|---|---|---|---|');
  console.log(row('PostgreSQL 15', after.pg.calls - before.pg.calls, after.pg.seconds - before.pg.seconds, after.pgCpu - before.pgCpu, pgRows, pgNow.length === 1 && pgNow[0] === pgBackend));
  console.log(
    row('MariaDB 10.11', after.maria.calls - before.maria.calls, after.maria.seconds - before.maria.seconds, after.mariaCpu - before.mariaCpu, Number(mariaRows), mariaNow.length === 1 && Number(mariaNow[0]) === Number(mariaThread)),
  );
} finally {
  await cleanup();
}
