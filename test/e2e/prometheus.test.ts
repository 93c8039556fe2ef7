import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { fixtureArgs, startAgent, waitForCollector } from '../helpers/agent.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort, requireTool, waitFor } from '../helpers/tools.js';

test('a real Prometheus server scrapes the agent and answers a pressure query', async (t) => {
  const prometheus = requireTool('prometheus', 'prometheus');
  const agent = await startAgent(t, [
    ...fixtureArgs(),
    '--collector.pressure.units',
    'postgresql@15-main.service',
    '--collector.pressure.interval',
    '1s',
    '--collector.pressure.timeout',
    '1s',
  ]);
  await waitForCollector(agent, 'pressure');

  const dir = await tempDir(t);
  const port = await freePort();
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: harbinger\n    static_configs:\n      - targets: ["127.0.0.1:${agent.port}"]\n`,
  );
  const server = spawn(
    prometheus,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr.on('data', (d) => (log += d));
  t.teardown(() => server.kill('SIGKILL'));

  const query = encodeURIComponent('harbinger_pressure_io_stalled_seconds_total{cgroup="/system.slice/system-postgresql.slice/postgresql@15-main.service"}');
  const result = await waitFor(
    'Prometheus to have the series',
    async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${query}`)).json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result.length > 0 ? body.data.result : undefined;
    },
    30_000,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\nprometheus log:\n${log.slice(-2000)}`);
  });
  t.is(result[0]!.metric.job, 'harbinger');
  t.is(Number(result[0]!.value[1]), 500);

  const up = (await (await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`)).json()) as {
    data: { result: Array<{ value: [number, string] }> };
  };
  t.is(up.data.result[0]!.value[1], '1');
});
