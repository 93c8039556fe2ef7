import { execFile, spawn } from 'node:child_process';
import anyTest, { type TestFn } from 'ava';
import { startAgent, type RunningAgent } from '../helpers/agent.js';
import { startAll } from '../helpers/db-process.js';
import { startMariadb, type MariadbServer } from '../helpers/mariadb.js';
import { parseScrape, sampleValue, type ParsedSample } from '../helpers/metrics.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { repoPath, tempDir, writeTemp } from '../helpers/tmp.js';
import { requireTool, waitFor } from '../helpers/tools.js';

const test = anyTest as TestFn<{ pg: PostgresServer; maria: MariadbServer }>;
const PG_PASSWORD = 'pg-agent-Zq81x';
const MARIA_PASSWORD = 'maria-agent-Hk27w';
const servers: Array<{ destroy(): Promise<void> }> = [];

test.before(async (t) => {
  const [pg, maria] = (await startAll<PostgresServer | MariadbServer>([startPostgres(), startMariadb()])) as [PostgresServer, MariadbServer];
  servers.push(pg, maria);
  await pg.query(`CREATE ROLE harbinger LOGIN PASSWORD '${PG_PASSWORD}'`);
  await pg.query('GRANT pg_monitor TO harbinger');
  await pg.query('CREATE EXTENSION pg_stat_statements');
  await maria.query(`CREATE USER harbinger@'%' IDENTIFIED BY '${MARIA_PASSWORD}'`);
  await maria.query("GRANT SELECT ON performance_schema.* TO harbinger@'%'");
  await maria.query("GRANT SLAVE MONITOR ON *.* TO harbinger@'%'");
  t.context = { pg, maria };
});
test.after.always(async () => {
  await Promise.all(servers.map((s) => s.destroy()));
});

/** A config with these targets, collected every second. */
async function agentWith(t: Parameters<typeof startAgent>[0], targets: object[], env: Record<string, string> = {}, level = 'info'): Promise<RunningAgent> {
  const file = await writeTemp(
    t,
    'harbinger.yml',
    `log:\n  level: ${level}\ncollector:\n  smart: {enabled: false}\n  host: {enabled: false}\n  db:\n    interval: 1s\n    timeout: 1s\n    query_timeout: 500ms\n    targets: ${JSON.stringify(targets)}\n`,
  );
  return startAgent(t, ['--config', file], env);
}

const scrape = async (agent: RunningAgent): Promise<ParsedSample[]> => parseScrape(await (await fetch(`${agent.url}/metrics`)).text());
const health = async (agent: RunningAgent): Promise<any> => (await fetch(`${agent.url}/health`)).json();

const targetsOf = ({ pg, maria }: { pg: PostgresServer; maria: MariadbServer }) => [
  { name: 'pg', driver: 'postgres', host: pg.host, port: pg.port, password_env: 'E2E_PG_PASSWORD', statements: { query_text: true } },
  { name: 'maria', driver: 'mysql', host: maria.host, port: maria.port, password_env: 'E2E_MARIA_PASSWORD' },
];
const passwords = { E2E_PG_PASSWORD: PG_PASSWORD, E2E_MARIA_PASSWORD: MARIA_PASSWORD };

test.serial('a scrape has both databases: up, latency histogram, errors by reason, connections, statements; promtool finds no problems', async (t) => {
  const agent = await agentWith(t, targetsOf(t.context), passwords);
  // Statement figures need two readings of the server's counters.
  const samples = await waitFor('statement figures of both targets', async () => {
    const s = await scrape(agent);
    const ok = ['pg', 'maria'].every((target) => sampleValue(s, 'harbinger_db_statements_calls_per_second', { target }) !== undefined);
    return ok ? s : undefined;
  });
  for (const target of ['pg', 'maria']) {
    t.is(sampleValue(samples, 'harbinger_db_up', { target }), 1, target);
    t.true(sampleValue(samples, 'harbinger_db_probe_duration_seconds_count', { target })! >= 2);
    t.is(sampleValue(samples, 'harbinger_db_probe_duration_seconds_bucket', { target, le: '+Inf' }), sampleValue(samples, 'harbinger_db_probe_duration_seconds_count', { target }));
    for (const reason of ['connect', 'auth', 'timeout', 'query']) t.is(sampleValue(samples, 'harbinger_db_probe_errors_total', { target, reason }), 0);
    t.is(sampleValue(samples, 'harbinger_db_connections_max', { target }), 60);
    t.true(sampleValue(samples, 'harbinger_db_connections', { target, state: 'active' })! >= 1);
    t.is(sampleValue(samples, 'harbinger_db_statements_available', { target }), 1);
    t.true(samples.some((s) => s.name === 'harbinger_db_statement_mean_seconds' && s.labels.target === target && s.labels.digest !== ''));
  }
  t.regex(samples.find((s) => s.name === 'harbinger_db_info' && s.labels.target === 'maria')!.labels.version!, /MariaDB/);
  t.true(samples.some((s) => s.name === 'harbinger_db_statement_info' && s.labels.target === 'pg' && s.labels.query!.length > 0), 'query_text on for pg');
  t.false(samples.some((s) => s.name === 'harbinger_db_statement_info' && s.labels.target === 'maria'), 'query_text off by default');
  t.is(sampleValue(samples, 'harbinger_collector_success', { collector: 'db' }), 1);

  const h = await health(agent);
  t.is(h.status, 'ok');
  t.deepEqual(
    h.databases.map((d: any) => [d.target, d.driver, d.up, d.last_error]),
    [
      ['pg', 'postgres', true, null],
      ['maria', 'mysql', true, null],
    ],
  );
  t.true(h.databases.every((d: any) => d.latency_seconds > 0 && d.latency_seconds < 1));

  const promtool = requireTool('promtool', 'prometheus');
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(promtool, ['check', 'metrics']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin!.end(text);
  });
  t.is(result.out.trim(), '', `promtool found problems:\n${result.out}`);
  t.is(result.code, 0);
});

test.serial('a database stopped and restarted: up 0 and /health degraded, then up 1 and ok; errors counted by reason', async (t) => {
  const { maria } = t.context;
  const agent = await agentWith(t, targetsOf(t.context), passwords);
  await waitFor('both up', async () => ((await health(agent)).databases.every((d: any) => d.up) ? true : undefined));
  await maria.stop();
  try {
    const down = await waitFor('maria down', async () => {
      const h = await health(agent);
      return h.databases.find((d: any) => d.target === 'maria').up === false ? h : undefined;
    });
    t.is(down.status, 'degraded');
    const entry = down.databases.find((d: any) => d.target === 'maria');
    t.is(entry.last_error.reason, 'connect');
    t.true(down.databases.find((d: any) => d.target === 'pg').up, 'the other target is not held back');
    const samples = await scrape(agent);
    t.is(sampleValue(samples, 'harbinger_db_up', { target: 'maria' }), 0);
    t.true(sampleValue(samples, 'harbinger_db_probe_errors_total', { target: 'maria', reason: 'connect' })! >= 1);
    t.is(sampleValue(samples, 'harbinger_db_up', { target: 'pg' }), 1);
  } finally {
    await maria.start();
  }
  const back = await waitFor('maria back', async () => {
    const h = await health(agent);
    return h.databases.every((d: any) => d.up) ? h : undefined;
  }, 30_000);
  t.is(back.status, 'ok');
  const samples = await scrape(agent);
  t.is(sampleValue(samples, 'harbinger_db_up', { target: 'maria' }), 1);
  t.true(sampleValue(samples, 'harbinger_db_probe_errors_total', { target: 'maria', reason: 'connect' })! >= 1, 'the outage stays counted');
  const lines = agent.logs().filter((l) => l.target === 'maria');
  t.is(lines.filter((l) => l.msg === 'database probe failed').length, 1, 'one line for the outage, not one per retry');
  t.is(lines.filter((l) => l.msg === 'database answers again').length, 1);
});

test.serial('passwords never reach the log: a DSN with a password file, wrong passwords from a file and from env, at debug level', async (t) => {
  const { pg, maria } = t.context;
  const wrongFile = await writeTemp(t, 'wrong.pass', 'wrong-file-secret-Pp09\n');
  // A DSN never holds the password (the configuration refuses one): it comes from password_file.
  const pgFile = await writeTemp(t, 'pg.pass', `${PG_PASSWORD}\n`);
  const dsnWrongFile = await writeTemp(t, 'dsn-wrong.pass', 'dsn-wrong-secret-Qq11\n');
  const mariaFile = await writeTemp(t, 'maria.pass', `${MARIA_PASSWORD}\n`);
  const secrets = [PG_PASSWORD, MARIA_PASSWORD, 'dsn-wrong-secret-Qq11', 'wrong-file-secret-Pp09', 'wrong-env-secret-Rr22'];
  const agent = await agentWith(
    t,
    [
      { name: 'pg-dsn', driver: 'postgres', dsn: pg.dsn('harbinger', 'postgres'), password_file: pgFile },
      { name: 'pg-dsn-wrong', driver: 'postgres', dsn: pg.dsn('harbinger', 'postgres'), password_file: dsnWrongFile },
      { name: 'pg-file-wrong', driver: 'postgres', host: pg.host, port: pg.port, password_file: wrongFile },
      { name: 'maria-dsn', driver: 'mysql', dsn: maria.dsn('harbinger', ''), password_file: mariaFile },
      { name: 'maria-env-wrong', driver: 'mysql', host: maria.host, port: maria.port, password_env: 'E2E_WRONG' },
    ],
    { E2E_WRONG: 'wrong-env-secret-Rr22' },
    'debug',
  );
  const h = await waitFor('every target probed', async () => {
    const body = await health(agent);
    return body.databases.length === 5 && body.databases.every((d: any) => d.up !== null) ? body : undefined;
  });
  const state = Object.fromEntries(h.databases.map((d: any) => [d.target, d.up ? 'up' : d.last_error.reason]));
  t.deepEqual(state, { 'pg-dsn': 'up', 'pg-dsn-wrong': 'auth', 'pg-file-wrong': 'auth', 'maria-dsn': 'up', 'maria-env-wrong': 'auth' });
  const failures = agent.logs().filter((l) => l.msg === 'database probe failed');
  t.is(failures.length, 3, 'the failures were logged');
  // Stop it, so the log includes shutdown too, then read everything it wrote.
  agent.process.kill('SIGTERM');
  await agent.exited;
  const everything = `${JSON.stringify(agent.logs())}\n${agent.stderr()}`;
  for (const secret of secrets) t.false(everything.includes(secret), `the log contains ${secret}`);
  const metrics = JSON.stringify(h);
  for (const secret of secrets) t.false(metrics.includes(secret), `/health contains ${secret}`);
});

test.serial('as systemd runs it: the launcher (bin/harbinger, node --lite-mode) probes both databases', async (t) => {
  // --lite-mode has no WebAssembly; a driver that pulls in undici at load would kill the agent.
  const file = await writeTemp(t, 'harbinger.yml', `collector:\n  smart: {enabled: false}\n  host: {enabled: false}\n  db:\n    interval: 1s\n    timeout: 1s\n    query_timeout: 500ms\n    targets: ${JSON.stringify(targetsOf(t.context))}\n`);
  const child = spawn(repoPath('bin/harbinger'), ['run', '--config', file, '--web.listen-address', '127.0.0.1:0', '--state-dir', await tempDir(t)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...passwords },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => {
    out += d;
    err += d;
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const port = await waitFor('the launcher to serve', async () => {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
    return /"address":"127\.0\.0\.1:([0-9]+)"/.exec(out)?.[1];
  });
  const body = await waitFor('both databases up', async () => {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
    const h = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as any;
    return h.databases.length === 2 && h.databases.every((d: any) => d.up) ? h : undefined;
  });
  t.is(body.status, 'ok');
  await new Promise((r) => setTimeout(r, 1500)); // a few more rounds: still alive
  t.is(child.exitCode, null, out);
  t.is(err, '', 'nothing on stderr (node warns about its flags there when they conflict)');
});

test.serial('SIGHUP reconnects with the new configuration without leaking the old connection; SIGTERM closes it', async (t) => {
  const { pg, maria } = t.context;
  const agent = await agentWith(t, targetsOf(t.context), passwords);
  const agentConnections = async () => ({
    pg: (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'harbinger'"))[0]!.n,
    maria: Number((await maria.query<{ n: number }>("SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'harbinger'"))[0]!.n),
  });
  const oneEach = () =>
    waitFor('one connection each', async () => {
      const c = await agentConnections();
      return c.pg === 1 && c.maria === 1 ? true : undefined;
    });
  await oneEach();
  for (let i = 0; i < 3; i++) {
    agent.process.kill('SIGHUP');
    await waitFor('the reload', async () => (agent.logs().filter((l) => l.msg === 'configuration reloaded').length > i ? true : undefined));
  }
  // Never more than one connection per target, through the reloads and the rounds after them.
  const seen: Array<{ pg: number; maria: number }> = [];
  const until = Date.now() + 3000;
  while (Date.now() < until) {
    seen.push(await agentConnections());
    await new Promise((r) => setTimeout(r, 100));
  }
  const warnings = JSON.stringify(agent.logs().filter((l) => l.level !== 'info'));
  t.true(seen.every((c) => c.pg <= 1 && c.maria <= 1), `${JSON.stringify(seen)} ${warnings}`);
  await oneEach();
  agent.process.kill('SIGTERM');
  t.is(await agent.exited, 0);
  await waitFor('connections closed', async () => {
    const c = await agentConnections();
    return c.pg === 0 && c.maria === 0 ? true : undefined;
  });
  t.pass();
});

test.serial('harbinger check probes each database once and reports it, without changing the disk verdict', async (t) => {
  const targets = [...targetsOf(t.context), { name: 'gone', driver: 'postgres', host: '127.0.0.1', port: 1, password_env: 'E2E_PG_PASSWORD' }];
  const file = await writeTemp(t, 'harbinger.yml', `collector:\n  smart: {enabled: false}\n  host: {enabled: false}\n  pressure: {enabled: false}\n  db:\n    targets: ${JSON.stringify(targets)}\n`);
  const stateDir = await tempDir(t);
  const check = (json: boolean) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [repoPath('dist/src/cli.js'), 'check', '--config', file, '--state-dir', stateDir, ...(json ? ['--json'] : [])], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...passwords } }, (err, stdout) =>
        resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
      );
    });
  const text = await check(false);
  t.regex(text.stdout, /^database pg \(postgres\): up, probe \d+\.\d ms$/m);
  t.regex(text.stdout, /^database maria \(mysql\): up, probe \d+\.\d ms$/m);
  t.regex(text.stdout, /^database gone \(postgres\): DOWN \(connect\): /m);
  t.is(text.code, 0, 'the exit code is the disks’ verdict (none here)');
  const report = JSON.parse((await check(true)).stdout) as { databases: Array<{ target: string; up: boolean; latencySeconds?: number }> };
  t.deepEqual(
    report.databases.map((d) => [d.target, d.up]),
    [
      ['pg', true],
      ['maria', true],
      ['gone', false],
    ],
  );
  t.true(report.databases[0]!.latencySeconds! > 0);
});
