import { cp } from 'node:fs/promises';
import test from 'ava';
import { PressureCollector } from '../../../src/collectors/pressure/index.js';
import { readText, type ReadText } from '../../../src/collectors/pressure/read.js';
import { captureLogger } from '../../helpers/logger.js';
import { repoPath, tempDir } from '../../helpers/tmp.js';

function collector(tree: string, units: string[] = [], read?: ReadText) {
  const { logger, lines } = captureLogger();
  const root = repoPath('test/fixtures/host', tree);
  const c = new PressureCollector(
    {
      settings: { enabled: true, intervalMs: 15_000, timeoutMs: 5_000, options: { units } },
      paths: { procfs: `${root}/proc`, sysfs: `${root}/sys` },
      logger,
    },
    read,
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
  const warnings = lines().filter((l) => l.level === 40);
  t.is(warnings.length, 1, 'said once, not per collection');
  t.regex(String(warnings[0]!.msg), /psi=1/);
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
