import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startAgent, waitForCollector, type RunningAgent } from '../helpers/agent.js';
import { parseScrape, sampleValue } from '../helpers/metrics.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const REPLAY = repoPath('examples/replay');
const FAST = ['--collector.smart.interval', '1s', '--collector.smart.timeout', '1s'];
const base = (stateDir: string, replay: string, config = repoPath('examples/harbinger.yml')) => [
  '--config',
  config,
  '--no-collector.host',
  '--no-collector.pressure',
  '--state-dir',
  stateDir,
  '--smart.replay',
  replay,
];

interface HealthDisk {
  disk: string;
  device: string;
  level: string;
  probability: number;
  replace_by: string | null;
  evidence: Array<{ signal: string; value: unknown; change7d?: number }>;
}
const disks = async (agent: RunningAgent) => ((await (await fetch(`${agent.url}/health`)).json()) as { disks: HealthDisk[] }).disks;

test('replay rounds: the degrading disk goes ok → degraded → failing and the metrics follow; its replace-by date only moves nearer', async (t) => {
  const agent = await startAgent(t, [...base(await tempDir(t), REPLAY), ...FAST]);
  const seen: string[] = [];
  const dates: string[] = [];
  await waitFor(
    'the last round',
    async () => {
      const sdb = (await disks(agent)).find((d) => d.device === 'sdb');
      if (sdb && seen[seen.length - 1] !== sdb.level) seen.push(sdb.level);
      if (sdb?.replace_by && dates[dates.length - 1] !== sdb.replace_by) dates.push(sdb.replace_by);
      return sdb?.level === 'failing' ? true : undefined;
    },
    20_000,
  );
  t.deepEqual(seen, ['ok', 'degraded', 'failing'], `levels seen: ${seen.join(' → ')}`);
  const samples = parseScrape(await (await fetch(`${agent.url}/metrics`)).text());
  const sdb = (await disks(agent)).find((d) => d.device === 'sdb')!;
  t.is(sampleValue(samples, 'harbinger_disk_risk_level', { device: 'sdb' }), 3);
  t.is(sampleValue(samples, 'harbinger_disk_failure_probability', { device: 'sdb' }), sdb.probability);
  t.is(sampleValue(samples, 'harbinger_disk_replace_by_timestamp_seconds', { device: 'sdb' }), Date.parse(`${sdb.replace_by}T00:00:00Z`) / 1000);
  // Degraded: a few days away; failing: the next day. Never further away.
  t.true(dates.length >= 1 && dates.every((d, i) => i === 0 || d < dates[i - 1]!), `dates: ${dates.join(', ')}`);
  const tomorrow = (ms: number) => new Date(ms + 86_400_000).toISOString().slice(0, 10);
  t.true([tomorrow(Date.now()), tomorrow(Date.now() - 60_000)].includes(sdb.replace_by!), `failing: replace by ${sdb.replace_by}`);
  t.is(sampleValue(samples, 'harbinger_disk_risk_level', { device: 'sda' }), 0, 'the healthy SSD stays ok');
  t.true(agent.logs().some((l) => l.msg === 'disk risk level changed' && l.to === 'failing'));
});

test('history survives a restart: growth since the reading before the restart is evidence', async (t) => {
  const stateDir = await tempDir(t);
  const before = await tempDir(t);
  const after = await tempDir(t);
  await cp(join(REPLAY, 'sdb/001.json'), join(before, 'sdb.json'));
  // The same disk later: 96 reallocated sectors, no pending ones.
  const later = JSON.parse(await readFile(join(REPLAY, 'sdb/002.json'), 'utf8'));
  for (const a of later.ata_smart_attributes.table) if (a.id === 197) a.raw = { value: 0, string: '0' };
  await writeFile(join(after, 'sdb.json'), JSON.stringify(later));

  const first = await startAgent(t, base(stateDir, before));
  await waitForCollector(first, 'smart');
  await waitFor('a prediction', async () => ((await disks(first)).length ? true : undefined));
  first.process.kill('SIGTERM');
  t.is(await first.exited, 0);

  const second = await startAgent(t, base(stateDir, after));
  const withHistory = await waitFor('a prediction', async () => (await disks(second))[0]);
  const realloc = withHistory.evidence.find((e) => e.signal.startsWith('reallocated'));
  t.truthy(realloc, JSON.stringify(withHistory.evidence));
  t.is(realloc!.change7d, 96, 'growth from the sample saved before the restart');

  const fresh = await startAgent(t, base(await tempDir(t), after));
  const noHistory = await waitFor('a prediction', async () => (await disks(fresh))[0]);
  const freshRealloc = noHistory.evidence.find((e) => e.signal.startsWith('reallocated'));
  t.is(freshRealloc?.change7d, undefined, 'no history: no growth claimed');
});

test('harbinger check: a table and the exit code of the worst disk; --json for machines', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'sdb'));
  await cp(join(REPLAY, 'sda.json'), join(dir, 'sda.json'));
  const run = (replay: string, json: boolean) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [repoPath('dist/src/cli.js'), 'check', ...base(dir, replay).filter((a) => a !== '--no-collector.pressure'), ...(json ? ['--json'] : [])],
        (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
      );
    });
  const healthy = await run(dir, false);
  t.is(healthy.code, 0, healthy.stdout);
  t.regex(healthy.stdout, /^DISK\s+DEVICE\s+MODEL\s+LEVEL/m);
  t.regex(healthy.stdout, /pressure \(share of the last minute/);
  t.regex(healthy.stdout, /status: OK/);
  await cp(join(REPLAY, 'sdb/004.json'), join(dir, 'sdc.json'));
  const failing = await run(dir, true);
  t.is(failing.code, 2);
  const report = JSON.parse(failing.stdout);
  t.is(report.status, 'failing');
  t.is(report.disks[0].device, 'sdc');
  t.is(report.disks[0].level, 'failing');
  t.true(typeof report.pressure.load1 === 'number');
});

test('predict.alarm_probability: a reload moves the alarm, and the same disk is degraded from its next reading', async (t) => {
  const dir = await tempDir(t);
  const replay = await tempDir(t);
  await cp(join(REPLAY, 'sdb/001.json'), join(replay, 'sdb.json'));
  const config = join(dir, 'harbinger.yml');
  await writeFile(config, 'predict: {}\n');
  const agent = await startAgent(t, [...base(join(dir, 'state'), replay, config), ...FAST]);
  const before = await waitFor('a prediction', async () => (await disks(agent))[0]);
  t.not(before.level, 'degraded');
  await writeFile(config, `predict:\n  alarm_probability: ${before.probability / 2}\n`);
  agent.process.kill('SIGHUP');
  const after = await waitFor('the disk degraded', async () => {
    const disk = (await disks(agent))[0];
    return disk?.level === 'degraded' ? disk : undefined;
  });
  t.truthy(after.replace_by);
  t.true(agent.logs().some((l) => l.msg === 'disk risk level changed' && l.to === 'degraded'));
});
