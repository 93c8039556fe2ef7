import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { runHarbinger, startAgent, waitForCollector } from '../helpers/agent.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { recording, STAND_IN, standIn } from '../helpers/stand-in.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { requireTool, waitFor } from '../helpers/tools.js';

const BASE = ['--config', repoPath('examples/harbinger.yml'), '--no-collector.host', '--no-collector.pressure'];

async function scrape(url: string) {
  return parseScrape(await (await fetch(`${url}/metrics`)).text());
}

async function promtoolCheck(text: string): Promise<string> {
  const promtool = requireTool('promtool', 'prometheus');
  return new Promise((resolve) => {
    const child = execFile(promtool, ['check', 'metrics'], (_err, stdout, stderr) => resolve(`${stdout}${stderr}`.trim()));
    child.stdin!.end(text);
  });
}

test('replay of every recorded drive: one disk_info per drive, failing drives visible, promtool clean', async (t) => {
  const dir = await tempDir(t);
  const sources = ['scrutiny', 'smartctl_exporter', 'telegraf'];
  let copied = 0;
  for (const source of sources) {
    for (const file of (await readdir(repoPath('test/fixtures/smartctl', source))).filter((f) => f.endsWith('.json'))) {
      await copyFile(repoPath('test/fixtures/smartctl', source, file), join(dir, `${source}-${file}`));
      copied++;
    }
  }
  const agent = await startAgent(t, [...BASE, '--smart.replay', dir]);
  await waitForCollector(agent, 'smart');
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  t.is(await promtoolCheck(text), '', 'promtool check metrics finds no problem');
  const samples = parseScrape(text);
  const infos = samples.filter((s) => s.name === 'harbinger_disk_info');
  const up = samples.filter((s) => s.name === 'harbinger_smart_device_up');
  t.is(up.length, copied, 'every recording is a device');
  t.true(infos.length >= copied * 0.8, `${infos.length} of ${copied} recordings are disks`);
  t.is(sampleValue(samples, 'harbinger_disk_smart_status_passed', { device: 'scrutiny-smart-fail2' }), 0);
  t.is(sampleValue(samples, 'harbinger_disk_reallocated_sectors', { device: 'scrutiny-smart-fail2' }), 1975);
  t.is(sampleValue(samples, 'harbinger_disk_smartctl_exit_flag', { device: 'scrutiny-smart-fail2', flag: 'disk_failing' }), 1);
  t.is(sampleValue(samples, 'harbinger_smart_device_up', { device: 'scrutiny-smart-fail' }), 0, 'the Windows access-denied recording');
  t.is(sampleValue(samples, 'harbinger_smart_device_errors_total', { device: 'scrutiny-smart-fail', reason: 'open_failed' }), 1);
  const keys = new Set(samples.map((s) => `${s.name}${JSON.stringify(s.labels)}`));
  t.is(keys.size, samples.length, 'no duplicate series');
});

test('replay rounds: a disk whose recordings change is re-read each round and the metrics follow', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'sdb'));
  await copyFile(recording('scrutiny/smart-megaraid0.json'), join(dir, 'sdb', '001.json'));
  await copyFile(recording('scrutiny/smart-megaraid1.json'), join(dir, 'sdb', '002.json'));
  const agent = await startAgent(t, [...BASE, '--smart.replay', dir, '--collector.smart.interval', '1s', '--collector.smart.timeout', '1s']);
  await waitForCollector(agent, 'smart');
  const value = await waitFor('the second recording', async () => {
    const v = sampleValue(await scrape(agent.url), 'harbinger_disk_reallocated_sectors', { device: 'sdb' });
    return v !== undefined && v > 0 ? v : undefined;
  });
  t.is(value, 387);
});

test('a hung smartctl never hangs a scrape, and a sleeping disk is reported asleep, not failed', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { hang: true }, '/dev/sdb': { file: recording('scrutiny/smart-ata-full.json'), standby: true } }, [
    '/dev/sda;sat',
    '/dev/sdb;sat',
  ]);
  const agent = await startAgent(t, [...BASE, '--collector.smart.smartctl-path', STAND_IN, '--collector.smart.command-timeout', '3s'], fake.env);
  // While the round is stuck on /dev/sda, scrapes answer at once.
  await waitFor('smartctl to be running', async () => ((await fake.calls()).some((c) => c.argv.endsWith('/dev/sda')) ? true : undefined));
  const started = Date.now();
  const response = await fetch(`${agent.url}/metrics`);
  t.is(response.status, 200);
  t.true(Date.now() - started < 500, `scrape took ${Date.now() - started} ms`);
  await waitForCollector(agent, 'smart');
  const samples = await scrape(agent.url);
  t.is(sampleValue(samples, 'harbinger_smart_device_up', { device: '/dev/sda' }), 0);
  t.is(sampleValue(samples, 'harbinger_smart_device_errors_total', { device: '/dev/sda', reason: 'timeout' }), 1);
  t.is(sampleValue(samples, 'harbinger_smart_device_up', { device: '/dev/sdb' }), 1, 'asleep is up');
  t.is(sampleValue(samples, 'harbinger_collector_success', { collector: 'smart' }), 1);
});

test('the real smartctl on this machine: a disk without SMART is reported cleanly and the agent keeps serving', async (t) => {
  requireTool('smartctl', 'smartmontools');
  const blocks = (await readdir('/sys/block')).filter((b) => !/^(loop|ram|zram|dm-|sr|md)/.test(b));
  t.true(blocks.length > 0, 'a block device to try');
  const device = `/dev/${blocks[0]}`;
  const agent = await startAgent(t, [...BASE, '--collector.smart.devices', device]);
  await waitForCollector(agent, 'smart');
  const samples = await scrape(agent.url);
  const errors = samples.filter((s) => s.name === 'harbinger_smart_device_errors_total' && s.labels.device === device);
  const up = sampleValue(samples, 'harbinger_smart_device_up', { device });
  t.log(`${device}: up=${up}, errors=${JSON.stringify(errors.map((e) => e.labels.reason))}`);
  if (up === 0) {
    t.is(errors.length, 1, 'one reason says why');
    t.true(['open_failed', 'no_smart', 'command_line'].includes(errors[0]!.labels.reason!), errors[0]!.labels.reason);
    const said = agent.logs().filter((l) => l.msg === 'cannot read SMART data from this device');
    t.is(said.length, 1, 'one log line says why');
    t.regex(String(said[0]!.detail), /\S/, 'with smartctl\'s own message');
  } else {
    t.truthy(samples.find((s) => s.name === 'harbinger_disk_info'), 'a real SMART disk: it has an identity');
  }
  t.is(sampleValue(samples, 'harbinger_collector_success', { collector: 'smart' }), 1);
  t.is((await fetch(`${agent.url}/health`)).status, 200);
});

test('harbinger smart inspect: one JSON line per file, exit 1 when one is not a smartctl result', async (t) => {
  const result = await runHarbinger(t, ['smart', 'inspect', recording('scrutiny/smart-fail2.json'), recording('scrutiny/smart-fail.json')]);
  t.is(result.code, 1);
  const [good, bad] = result.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(good.protocol, 'ata');
  t.is(good.counters.reallocated_sectors ?? good.counters.reallocatedSectors, 1975);
  t.is(bad.error.kind, 'open_failed');
});

test('a disk whose model, serial and messages are megabytes long: a bounded, promtool-clean scrape and bounded log lines', async (t) => {
  // Just under the output limit, so smartctl's output is parsed (past it, it is output_too_large).
  const limit = 1024 * 1024;
  const dir = await tempDir(t);
  const base = JSON.parse(await readFile(recording('smartctl_exporter/INTEL_SSDPE2KX080T8_1.json'), 'utf8')) as Record<string, any>;
  const room = limit - JSON.stringify(base).length - 4096;
  const big = { ...base, model_name: `INTEL ${'M'.repeat(Math.floor(room / 2))}`, serial_number: `PHLJ${'S'.repeat(Math.floor(room / 2))}` };
  const failing = {
    json_format_version: [1, 0],
    smartctl: { version: [7, 3], exit_status: 2, messages: [{ string: `/dev/sdb: ${'E'.repeat(room)}`, severity: 'error' }] },
    device: { name: '/dev/sdb', info_name: '/dev/sdb', type: 'sat' },
  };
  for (const [name, root] of [['big.json', big], ['failing.json', failing]] as const) {
    const text = JSON.stringify(root);
    t.true(text.length < limit && text.length > limit - 16 * 1024, `${name} is ${text.length} bytes, just under the ${limit}-byte limit`);
    await writeFile(join(dir, name), text);
  }
  const fake = await standIn(t, { '/dev/nvme0': { file: join(dir, 'big.json') }, '/dev/sdb': { file: join(dir, 'failing.json') } }, ['/dev/nvme0;nvme', '/dev/sdb;sat']);
  const stateDir = await tempDir(t);
  const agent = await startAgent(
    t,
    [...BASE, '--state-dir', stateDir, '--collector.smart.smartctl-path', STAND_IN, '--collector.smart.max-output-bytes', String(limit)],
    fake.env,
  );
  await waitForCollector(agent, 'smart');
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  t.true(text.length < 200 * 1024, `the scrape is ${text.length} bytes`);
  t.is(await promtoolCheck(text), '', 'promtool check metrics finds no problem');
  const samples = parseScrape(text);
  const info = samples.find((s) => s.name === 'harbinger_disk_info' && s.labels.device === '/dev/nvme0');
  t.truthy(info, 'the disk is read, not refused');
  t.true(info!.labels.model!.startsWith('INTEL MMM') && info!.labels.model!.length <= 128, info!.labels.model);
  t.true(info!.labels.serial!.length <= 128);
  t.true(info!.labels.disk!.length <= 128);
  t.is(sampleValue(samples, 'harbinger_smart_device_errors_total', { device: '/dev/sdb', reason: 'open_failed' }), 1);
  const said = agent.logs().find((l) => l.msg === 'cannot read SMART data from this device');
  t.truthy(said, 'the failing disk is logged');
  t.true(String(said!.detail).length <= 1000, `detail is ${String(said!.detail).length} characters`);
  const health = await (await fetch(`${agent.url}/health`)).text();
  t.true(health.length < 64 * 1024, `/health is ${health.length} bytes`);
  const longest = Math.max(...agent.logs().map((l) => JSON.stringify(l).length));
  t.true(longest < 4096, `the longest log line is ${longest} characters`);
});
