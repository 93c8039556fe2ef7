import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import test from 'ava';
import { fixtureArgs, startAgent, waitForCollector } from '../helpers/agent.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { repoPath, writeTemp } from '../helpers/tmp.js';
import { billionLaughs } from '../helpers/config.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);

async function startOnFixture(t: Parameters<typeof startAgent>[0]) {
  const agent = await startAgent(t, [
    ...fixtureArgs(),
    '--collector.pressure.units',
    'postgresql@15-main.service,mariadb.service,absent.service',
    '--no-collector.host',
    '--no-collector.smart',
  ]);
  await waitForCollector(agent, 'pressure');
  return agent;
}

test('a scrape of the agent on a fixture tree has the fixture\'s values', async (t) => {
  const agent = await startOnFixture(t);
  const response = await fetch(`${agent.url}/metrics`);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = parseScrape(await response.text());
  const v = (name: string, labels: Record<string, string> = {}) => sampleValue(samples, name, labels);
  t.is(v('harbinger_pressure_io_stalled_seconds_total', { cgroup: '/' }), 701.234567);
  t.is(v('harbinger_pressure_io_waiting_seconds_total', { cgroup: '/' }), 812.345678);
  t.is(v('harbinger_pressure_irq_stalled_seconds_total', { cgroup: '/' }), 1.234567);
  t.is(v('harbinger_pressure_cpu_waiting_seconds_total', { cgroup: '/system.slice/system-postgresql.slice/postgresql@15-main.service' }), 5.123456);
  t.is(v('harbinger_pressure_io_stalled_seconds_total', { cgroup: '/system.slice/mariadb.service' }), 2);
  t.is(v('harbinger_unit_cgroup_found', { unit: 'absent.service' }), 0);
  t.is(v('harbinger_unit_cgroup_found', { unit: 'mariadb.service' }), 1);
  t.is(v('harbinger_pressure_available'), 1);
  t.is(v('harbinger_load1'), 3.41);
  t.true(v('harbinger_memory_total_bytes')! > 0);
  t.is(v('harbinger_collector_success', { collector: 'pressure' }), 1);
  t.is(v('harbinger_collector_success', { collector: 'host' }), undefined, 'disabled collector has no series');
  t.true(v('harbinger_collector_last_success_timestamp_seconds', { collector: 'pressure' })! > Date.now() / 1000 - 60);
  t.is(v('harbinger_config_last_reload_successful'), 1);
  t.is(samples.find((s) => s.name === 'harbinger_build_info')?.labels.nodejs_version, process.versions.node);
});

test('promtool check metrics reports zero problems on a full scrape', async (t) => {
  const promtool = requireTool('promtool', 'prometheus');
  const agent = await startAgent(t, ['--config', repoPath('examples/harbinger.yml'), '--collector.pressure.units', 'postgresql.service']);
  await waitForCollector(agent, 'pressure');
  await waitForCollector(agent, 'host');
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  t.true(text.includes('harbinger_host_info{'));
  const child = execFile(promtool, ['check', 'metrics']);
  child.stdin!.end(text);
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
  t.is(result.out.trim(), '', `promtool found problems:\n${result.out}`);
  t.is(result.code, 0);
});

test('/health is JSON with every enabled collector; / links the endpoints; unknown paths 404', async (t) => {
  const agent = await startOnFixture(t);
  await waitForCollector(agent, 'storage');
  const health = (await (await fetch(`${agent.url}/health`)).json()) as Record<string, any>;
  t.is(health.status, 'ok');
  t.deepEqual(Object.keys(health.collectors), ['pressure', 'storage']);
  t.is(health.collectors.storage.success, true, 'the fixture has a block device tree');
  t.is(health.collectors.pressure.success, true);
  t.is(health.collectors.pressure.last_error, null);
  t.deepEqual(health.problems, []);
  t.like(health.balance, { state: 'up', weight: 100, decided_by: 'harbinger', override: null });
  const index = await (await fetch(`${agent.url}/`)).text();
  t.true(index.includes('href="metrics"') && index.includes('href="health"') && index.includes('href="-/healthy"') && index.includes('href="-/ready"'));
  const healthy = await fetch(`${agent.url}/-/healthy`);
  t.is(healthy.status, 200);
  t.is(await healthy.text(), 'harbinger is healthy.\n');
  t.is((await fetch(`${agent.url}/-/ready`)).status, 200, 'every collector has had its first round');
  t.is((await fetch(`${agent.url}/nope`)).status, 404);
  t.is((await fetch(`${agent.url}/metrics`, { method: 'POST' })).status, 405);
});

test('the scrape path never collects: scraping many times does not run the collector', async (t) => {
  const agent = await startOnFixture(t);
  const before = parseScrape(await (await fetch(`${agent.url}/metrics`)).text());
  for (let i = 0; i < 20; i++) await (await fetch(`${agent.url}/metrics`)).text();
  const after = parseScrape(await (await fetch(`${agent.url}/metrics`)).text());
  const ts = (s: typeof before) => sampleValue(s, 'harbinger_collector_last_success_timestamp_seconds', { collector: 'pressure' });
  t.is(ts(after), ts(before), 'the 15 s collection interval, not the scrapes, decides when data is read');
});

test('check-config: exit 0 on the example, 78 with every problem listed on a bad file', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const ok = await run(process.execPath, [cli, 'check-config', '--config', repoPath('examples/harbinger.yml')]);
  t.regex(ok.stdout, /configuration is valid/);
  const bad = await run(process.execPath, [cli, 'check-config', '--config', repoPath('test/fixtures/config/bad.yml')]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.is(bad?.code, 78);
  t.regex(bad!.stderr, /invalid configuration \(3 problems\)/);
  t.regex(bad!.stderr, /bad\.yml:3:3: web\.listen_adress: unknown key/);
  t.regex(bad!.stderr, /bad\.yml:6:5: collector\.pressure\.interval: must be a duration/);
  t.regex(bad!.stderr, /bad\.yml:8:3: collector\.smrat: unknown key "smrat"; did you mean "smart"\?/);
});

test('check-config: nested aliases are refused with exit 78 and one line, no stack trace', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const file = await writeTemp(t, 'laughs.yml', billionLaughs());
  const err = await run(process.execPath, [cli, 'check-config', '--config', file]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.is(err?.code, 78);
  t.is(err!.stderr, `harbinger: invalid configuration (1 problem):\n  ${file}: uses more than 100 aliases (alias expansion); refused\n`);
});

test('check-config: thousands of unknown keys are listed as the first 50 and a count', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const file = await writeTemp(t, 'many.yml', Array.from({ length: 32_000 }, (_, i) => `k${i}: 1\n`).join(''));
  const err = await run(process.execPath, [cli, 'check-config', '--config', file]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.is(err?.code, 78);
  const lines = err!.stderr.trimEnd().split('\n');
  t.is(lines[0], 'harbinger: invalid configuration (32000 problems):');
  t.is(lines.length, 1 + 50 + 1);
  t.is(lines.at(-1), '  and 31950 more problems');
});

test('an unknown flag is refused with exit 78, as a config problem', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const err = await run(process.execPath, [cli, 'check-config', '--config', repoPath('examples/harbinger.yml'), '--web.listen-adress', ':1']).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.is(err?.code, 78);
  t.regex(err!.stderr, /unknown option '--web\.listen-adress'/);
  t.regex(err!.stderr, /Did you mean --web\.listen-address\?/);
});

test('a list flag takes repeated and comma-separated values, all of them checked', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const args = ['check-config', '--config', repoPath('examples/harbinger.yml'), '--collector.pressure.units', 'a,b', '--collector.pressure.units=c'];
  const err = await run(process.execPath, [cli, ...args]).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.is(err?.code, 78);
  // All three units arrive, each refused by name.
  for (const [i, unit] of ['a', 'b', 'c'].entries()) t.regex(err!.stderr, new RegExp(`flag --collector\\.pressure\\.units: collector\\.pressure\\.units\\[${i}\\]: .*got "${unit}"`));
  t.notRegex(err!.stderr, /units\[3\]/);
});

test('run with an invalid config starts nothing and exits 78', async (t) => {
  const cli = repoPath('dist/src/cli.js');
  const err = await run(process.execPath, [cli, 'run', '--config', repoPath('test/fixtures/config/bad.yml')], { timeout: 10_000 }).then(
    () => undefined,
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  t.is(err?.code, 78);
  t.is(err!.stdout, '', 'no service started, nothing logged as running');
});
