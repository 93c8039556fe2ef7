import test from 'ava';
import { startAgent, type RunningAgent } from '../helpers/agent.js';
import { agentCheckArgs, agentCheckPort, startHaproxy, type ServerState } from '../helpers/haproxy.js';
import { startPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const PASSWORD = 'lb-watch-pw-3c9e';
/** srv_op_state 2: running; 0: stopped (agent-check `down`). */
const RUNNING = 2;
const STOPPED = 0;


test('HAProxy and real PostgreSQL: a wrong monitoring password leaves the server UP at full weight; a stopped database takes it DOWN after down_after probes, and back', async (t) => {
  const pg = await startPostgres();
  t.teardown(() => pg.destroy());
  await pg.query(`CREATE ROLE watcher LOGIN PASSWORD '${PASSWORD}'`);
  const agentWith = async (password: string) =>
    startAgent(
      t,
      [
        ...agentCheckArgs('1s'),
        '--no-collector.host',
        '--no-collector.pressure',
        '--no-collector.smart',
        '--collector.db.interval',
        '1s',
        '--collector.db.timeout',
        '1s',
        '--collector.db.query-timeout',
        '400ms',
        '--collector.db.targets',
        JSON.stringify([{ name: 'pg', driver: 'postgres', host: pg.host, port: pg.port, user: 'watcher', database: 'postgres', password_env: 'PG_WATCH_PASSWORD' }]),
        '--state-dir',
        await tempDir(t),
      ],
      { PG_WATCH_PASSWORD: password },
    );
  const watched = await agentWith(PASSWORD);
  const rotated = await agentWith('the-old-password');
  const haproxy = await startHaproxy(t, [
    { name: 'watched', agentPort: await agentCheckPort(watched) },
    { name: 'rotated', agentPort: await agentCheckPort(rotated) },
  ]);
  const servers = async () => Object.fromEntries((await haproxy.servers()).map((s) => [s.name, s])) as Record<string, ServerState>;
  const health = async (agent: RunningAgent) => {
    const response = await fetch(`${agent.url}/health`);
    return { code: response.status, body: (await response.json()) as { status: string; problems: string[]; balance: { state: string }; databases: Array<{ fault: string | null; unanswered_probes: number }> } };
  };

  // The rotated password is a monitoring fault: degraded, said so, and still in the pool.
  await waitFor('the monitoring fault seen', async () => ((await health(rotated)).body.databases[0]?.fault === 'monitoring' ? true : undefined));
  const faulty = await health(rotated);
  t.is(faulty.code, 200, 'the load balancer keeps sending work');
  t.is(faulty.body.status, 'degraded');
  t.like(faulty.body.balance, { state: 'up' });
  t.regex(faulty.body.problems.join('\n'), /cannot watch database pg \(auth: .*\): a monitoring fault/);
  await waitFor('both servers UP at full weight', async () => {
    const s = await servers();
    return s.watched!.opState === RUNNING && s.rotated!.opState === RUNNING && s.watched!.weight === 100 && s.rotated!.weight === 100 ? true : undefined;
  });
  const metrics = await (await fetch(`${rotated.url}/metrics`)).text();
  t.regex(metrics, /harbinger_db_up\{target="pg"\} 0/);
  t.regex(metrics, /harbinger_db_unanswered_probes\{target="pg"\} 0/);
  t.is((await fetch(`${rotated.url}/-/healthy`)).status, 200);

  // The database stops: refused connections, counted probe by probe, then DOWN.
  await pg.stop();
  const counts = new Set<number>();
  await waitFor('the watched server DOWN', async () => {
    const h = await health(watched);
    counts.add(h.body.databases[0]!.unanswered_probes);
    return (await servers()).watched!.opState === STOPPED ? true : undefined;
  }, 30_000);
  const down = await health(watched);
  t.is(down.code, 503);
  t.true(down.body.databases[0]!.unanswered_probes >= 3);
  t.true(counts.has(1) || counts.has(2), `the host stayed up while fewer than down_after probes failed (seen ${[...counts].join(', ')})`);
  t.true(watched.logs().filter((l) => l.msg === 'load-balancer decision changed' && l.state === 'down').length === 1);
  t.is((await fetch(`${watched.url}/-/healthy`)).status, 200, 'liveness is apart from the balance');

  await pg.start();
  await waitFor('the watched server back UP', async () => ((await servers()).watched!.opState === RUNNING ? true : undefined), 60_000);
  t.is((await health(watched)).code, 200);
});
