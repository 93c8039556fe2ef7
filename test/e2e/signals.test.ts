import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startAgent, waitForCollector } from '../helpers/agent.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

async function scrape(url: string) {
  return parseScrape(await (await fetch(`${url}/metrics`)).text());
}

test('SIGHUP with a broken file keeps serving with the running config; a fixed file is applied', async (t) => {
  const dir = await tempDir(t);
  const config = join(dir, 'harbinger.yml');
  await copyFile(repoPath('examples/harbinger.yml'), config);
  const fixture = repoPath('test/fixtures/host/modern');
  const agent = await startAgent(t, ['--config', config, '--path.procfs', `${fixture}/proc`, '--path.sysfs', `${fixture}/sys`, '--no-collector.host']);
  await waitForCollector(agent, 'pressure');

  await writeFile(config, 'collector:\n  pressure:\n    interval: never\n');
  agent.process.kill('SIGHUP');
  await waitFor('the refused reload', async () => agent.logs().find((l) => String(l.msg).startsWith('configuration reload refused')));
  const refused = agent.logs().find((l) => String(l.msg).startsWith('configuration reload refused'))!;
  t.regex(JSON.stringify(refused.problems), /collector\.pressure\.interval/);
  let samples = await scrape(agent.url);
  t.is(sampleValue(samples, 'harbinger_config_last_reload_successful'), 0);
  t.is(sampleValue(samples, 'harbinger_collector_success', { collector: 'pressure' }), 1, 'still collecting');
  const firstOk = sampleValue(samples, 'harbinger_config_last_reload_success_timestamp_seconds')!;

  await writeFile(config, 'collector:\n  pressure:\n    units: [mariadb.service]\n');
  agent.process.kill('SIGHUP');
  await waitFor('the applied reload', async () => agent.logs().find((l) => l.msg === 'configuration reloaded'));
  await waitFor('unit series', async () =>
    sampleValue(await scrape(agent.url), 'harbinger_unit_cgroup_found', { unit: 'mariadb.service' }) === 1 ? true : undefined,
  );
  samples = await scrape(agent.url);
  t.is(sampleValue(samples, 'harbinger_config_last_reload_successful'), 1);
  t.true(sampleValue(samples, 'harbinger_config_last_reload_success_timestamp_seconds')! >= firstOk);
});

test('SIGTERM: stops serving and exits 0 well within 5 s', async (t) => {
  const agent = await startAgent(t, ['--config', repoPath('examples/harbinger.yml')]);
  await waitForCollector(agent, 'pressure');
  const started = Date.now();
  agent.process.kill('SIGTERM');
  t.is(await agent.exited, 0);
  t.true(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  await t.throwsAsync(fetch(`${agent.url}/metrics`), undefined, 'no longer accepting scrapes');
  t.truthy(agent.logs().find((l) => l.msg === 'stopped'));
});

test('SIGINT (Ctrl-C in a terminal) stops it the same way', async (t) => {
  const agent = await startAgent(t, ['--config', repoPath('examples/harbinger.yml'), '--no-collector.host']);
  agent.process.kill('SIGINT');
  t.is(await agent.exited, 0);
});

test('a port already in use is a clear error, exit 1, not a hang', async (t) => {
  const first = await startAgent(t, ['--config', repoPath('examples/harbinger.yml'), '--no-collector.host']);
  const { spawnSync } = await import('node:child_process');
  const second = spawnSync(
    process.execPath,
    [repoPath('dist/src/cli.js'), 'run', '--config', repoPath('examples/harbinger.yml'), '--web.listen-address', `127.0.0.1:${first.port}`, '--state-dir', await tempDir(t)],
    { encoding: 'utf8', timeout: 10_000 },
  );
  t.is(second.status, 1);
  t.regex(second.stdout, /EADDRINUSE/);
});
