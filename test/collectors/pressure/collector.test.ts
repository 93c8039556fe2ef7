import { cp } from 'node:fs/promises';
import test from 'ava';
import { Registry } from 'prom-client';
import { PressureCollector, type PressureReading } from '../../../src/collectors/pressure/index.js';
import { registerPressureMetrics } from '../../../src/collectors/pressure/metrics.js';
import { readText, type ReadText } from '../../../src/collectors/pressure/read.js';
import { captureLogger } from '../../helpers/logger.js';
import { repoPath, tempDir } from '../../helpers/tmp.js';

function collector(tree: string, units: string[] = [], read?: ReadText, now?: () => number) {
  const { logger, lines } = captureLogger();
  const root = repoPath('test/fixtures/host', tree);
  const c = new PressureCollector(
    {
      settings: { enabled: true, intervalMs: 15_000, timeoutMs: 5_000, options: { units } },
      paths: { procfs: `${root}/proc`, sysfs: `${root}/sys` },
      logger,
    },
    read,
    now,
  );
  return { c, lines };
}

const signal = new AbortController().signal;

test('modern kernel: host PSI for all four resources and units found in their slices', async (t) => {
  const { c, lines } = collector('modern', ['postgresql@15-main.service', 'mariadb.service']);
  const r = await c.collect(signal);
  t.deepEqual(Object.keys(r.psi!).sort(), ['cpu', 'io', 'irq', 'memory']);
  t.is(r.psi!.io!.full!.totalSeconds, 701.234567);
  t.deepEqual(
    r.units.map((u) => [u.unit, u.cgroup]),
    [
      ['postgresql@15-main.service', '/system.slice/system-postgresql.slice/postgresql@15-main.service'],
      ['mariadb.service', '/system.slice/mariadb.service'],
    ],
  );
  t.is(r.units[0]!.psi!.io!.some!.totalSeconds, 600);
  t.is(r.units[1]!.psi!.irq, undefined, 'no irq.pressure for this unit');
  t.is(r.load.load1, 3.41);
  t.deepEqual(lines(), []);
});

test('kernel 5.4 with hybrid cgroups: v2 root found under unified/, cpu has no full line', async (t) => {
  const { c } = collector('kernel-5.4', ['postgresql@12-main.service']);
  const r = await c.collect(signal);
  t.deepEqual(Object.keys(r.psi!).sort(), ['cpu', 'io', 'memory']);
  t.is(r.psi!.cpu!.full, undefined);
  t.is(r.units[0]!.cgroup, '/system.slice/postgresql@12-main.service');
});

test('no PSI at all: says so once with the fix, reports memory and load', async (t) => {
  const { c, lines } = collector('no-psi', ['postgresql.service']);
  const first = await c.collect(signal);
  await c.collect(signal);
  t.is(first.psi, undefined);
  t.deepEqual(first.units, []);
  t.is(first.memory.get('SwapTotal'), 0);
  t.is(first.load.load15, 8.75);
  t.is(first.cpu, undefined, 'no /proc/stat in this tree either');
  const warnings = lines().filter((l) => l.level === 40);
  t.is(warnings.length, 2, 'no PSI and no /proc/stat, each said once, not per collection');
  t.true(warnings.some((w) => /psi=1/.test(String(w.msg))));
});

test('PSI compiled in but switched off (EOPNOTSUPP) is the same as absent', async (t) => {
  const read: ReadText = async (path, s) => {
    if (path.includes('/pressure/')) throw Object.assign(new Error('not supported'), { code: 'EOPNOTSUPP' });
    return readText(path, s);
  };
  const { c, lines } = collector('modern', [], read);
  const r = await c.collect(signal);
  t.is(r.psi, undefined);
  t.is(lines().length, 1);
});

test('a unit that is not running: reported as not found, once, and found when it appears', async (t) => {
  const tree = await tempDir(t);
  await cp(repoPath('test/fixtures/host/modern'), tree, { recursive: true });
  const { logger, lines } = captureLogger();
  const c = new PressureCollector({
    settings: { enabled: true, intervalMs: 15_000, timeoutMs: 5_000, options: { units: ['redis.service'] } },
    paths: { procfs: `${tree}/proc`, sysfs: `${tree}/sys` },
    logger,
  });
  const r = await c.collect(signal);
  await c.collect(signal);
  t.deepEqual(r.units, [{ unit: 'redis.service' }]);
  t.is(lines().filter((l) => l.unit === 'redis.service').length, 1);
  const unitDir = `${tree}/sys/fs/cgroup/system.slice/redis.service`;
  await cp(`${tree}/sys/fs/cgroup/system.slice/mariadb.service`, unitDir, { recursive: true });
  const later = await c.collect(signal);
  t.is(later.units[0]!.cgroup, '/system.slice/redis.service');
});

test('an unreadable meminfo is an error the scheduler reports (not a silent zero)', async (t) => {
  const read: ReadText = async (path, s) => {
    if (path.endsWith('meminfo')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return readText(path, s);
  };
  const { c } = collector('modern', [], read);
  await t.throwsAsync(c.collect(signal), { message: /EACCES/ });
});

/**
 * Two /proc/stat samples 1000 ticks apart, 300 of them busy: user +200, system +100, idle +650,
 * iowait +50. guest +100 is inside user already and must not count again.
 */
const STAT_BEFORE = 'cpu  1000 10 500 8000 400 0 90 0 50 0\ncpu0 500 5 250 4000 200 0 45 0 25 0\ncpu1 500 5 250 4000 200 0 45 0 25 0\nctxt 1\n';
const STAT_AFTER = 'cpu  1200 10 600 8650 450 0 90 0 150 0\ncpu0 600 5 300 4325 225 0 45 0 75 0\ncpu1 600 5 300 4325 225 0 45 0 75 0\nctxt 2\n';

/** The modern tree, with /proc/stat answered from `stat()` and a clock the test moves. */
function cpuCollector(tree = 'modern') {
  const state = { stat: STAT_BEFORE, nowMs: 1_700_000_000_000 };
  const read: ReadText = async (path, s) => (path.endsWith('/proc/stat') ? state.stat : readText(path, s));
  return { ...collector(tree, [], read, () => state.nowMs), state };
}

test('CPU utilisation: the busy share of the ticks between two readings, over the clock\'s window', async (t) => {
  const { c, state, lines } = cpuCollector();
  const first = await c.collect(signal);
  t.is(first.cpu, undefined, 'one sample is no utilisation yet');
  state.stat = STAT_AFTER;
  state.nowMs += 15_000;
  const second = await c.collect(signal);
  t.deepEqual(second.cpu, { utilization: 0.3, cores: 2, windowSeconds: 15, utilization1m: 0.3 });
  t.deepEqual(lines(), []);
});

test('CPU counters that go backwards or stand still give no utilisation, and the new sample is the base', async (t) => {
  const { c, state } = cpuCollector();
  state.stat = STAT_AFTER;
  await c.collect(signal);
  state.stat = STAT_BEFORE; // a restored snapshot of a host that rebooted
  state.nowMs += 10_000;
  t.is((await c.collect(signal)).cpu, undefined, 'counters went backwards');
  state.nowMs += 10_000;
  t.is((await c.collect(signal)).cpu, undefined, 'the same sample twice');
  state.stat = STAT_AFTER;
  state.nowMs += 5_000;
  t.deepEqual((await c.collect(signal)).cpu, { utilization: 0.3, cores: 2, windowSeconds: 5, utilization1m: 0.3 }, 'measured from the last sample');
});

test('the one-minute figure spans the samples of the last 60 s: a busy interval moves it by its share of the minute', async (t) => {
  const { c, state } = cpuCollector();
  // A sample every 15 s: 100 ticks each, 20 busy, then one interval at 80 busy.
  const line = (busy: number, idle: number) => `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 ${busy} 0 0 ${idle} 0 0 0 0 0 0\n`;
  let busy = 0;
  let idle = 0;
  const tick = async (b: number) => {
    busy += b;
    idle += 100 - b;
    state.stat = line(busy, idle);
    state.nowMs += 15_000;
    return (await c.collect(signal)).cpu;
  };
  await tick(20);
  for (let i = 0; i < 5; i++) t.is((await tick(20))!.utilization1m, 0.2);
  const spike = (await tick(80))!;
  t.is(spike.utilization, 0.8);
  // The minute: the samples 60 s back to now, four intervals of 100 ticks, 20+20+20+80 busy.
  t.is(spike.utilization1m, 0.35);
  for (let i = 0; i < 3; i++) await tick(20);
  t.is((await tick(20))!.utilization1m, 0.2, 'a minute later the spike is out of the window');
});

test('utilisation is clamped to 0–1 when busy and idle counters disagree', async (t) => {
  const { c, state } = cpuCollector();
  await c.collect(signal);
  // iowait can go backwards on some kernels (NO_HZ idle accounting): busy then grows more than total.
  state.stat = 'cpu  1300 10 500 8000 300 0 90 0 50 0\ncpu0 1 1 1 1\n';
  state.nowMs += 1_000;
  t.is((await c.collect(signal)).cpu!.utilization, 1);
});

test('the modern tree\'s /proc/stat read from disk: 4 cores once two samples differ', async (t) => {
  const file = repoPath('test/fixtures/host/modern/proc/stat');
  let bump = 0;
  const read: ReadText = async (path, s) => {
    const text = await readText(path, s);
    // the second sample: 400 more user ticks and 400 more idle on the aggregate line
    return path === file && bump++ > 0 ? text.replace(/^cpu  4794870 12250 1606410 32064130 /m, 'cpu  4795270 12250 1606410 32064530 ') : text;
  };
  let nowMs = 0;
  const { c } = collector('modern', [], read, () => nowMs);
  await c.collect(signal);
  nowMs = 2_000;
  t.deepEqual((await c.collect(signal)).cpu, { utilization: 0.5, cores: 4, windowSeconds: 2, utilization1m: 0.5 });
});

test('no /proc/stat: no utilisation, the collection still succeeds, said once', async (t) => {
  const { c, lines } = collector('kernel-5.4');
  const first = await c.collect(signal);
  const second = await c.collect(signal);
  t.is(first.cpu, undefined);
  t.is(second.cpu, undefined);
  t.truthy(second.psi?.cpu, 'PSI still read');
  t.truthy(second.memory.get('MemTotal'), 'memory and load still read');
  const warnings = lines();
  t.is(warnings.length, 1, 'said once over two collections');
  t.is(warnings[0]!.level, 40);
  t.true(String(warnings[0]!.path).endsWith('kernel-5.4/proc/stat'));
  t.regex(String(warnings[0]!.msg), /missing.*cluster headroom cannot use this host's CPU/);
});

test('an unreadable or malformed /proc/stat does not fail the collection: no utilisation, said once', async (t) => {
  const { c, state, lines } = cpuCollector();
  const read: ReadText = async (path, s) => {
    if (path.endsWith('/proc/stat')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    return readText(path, s);
  };
  const denied = collector('modern', [], read);
  t.is((await denied.c.collect(signal)).cpu, undefined);
  t.truthy((await denied.c.collect(signal)).psi, 'PSI, memory and load still reported');
  t.is(denied.lines().length, 1);
  t.regex(String(denied.lines()[0]!.msg), /cluster headroom/);

  state.stat = 'garbage\n';
  t.is((await c.collect(signal)).cpu, undefined);
  await c.collect(signal);
  t.is(lines().length, 1);
  t.regex(String((lines()[0]!.err as { message: string }).message), /\/proc\/stat: no aggregate "cpu" line/);
});

test('the CPU metrics are served once there is a utilisation, and absent before', async (t) => {
  const { c, state } = cpuCollector();
  let reading: PressureReading | undefined = await c.collect(signal);
  const registry = new Registry();
  registerPressureMetrics(registry, () => reading);
  const before = await registry.metrics();
  t.notRegex(before, /^harbinger_cpu_utilization_ratio /m);
  t.notRegex(before, /^harbinger_cpu_cores /m);
  state.stat = STAT_AFTER;
  state.nowMs += 15_000;
  reading = await c.collect(signal);
  const after = await registry.metrics();
  t.regex(after, /^# TYPE harbinger_cpu_utilization_ratio gauge$/m);
  t.regex(after, /^harbinger_cpu_utilization_ratio 0\.3$/m);
  t.regex(after, /^# TYPE harbinger_cpu_cores gauge$/m);
  t.regex(after, /^harbinger_cpu_cores 2$/m);
});
