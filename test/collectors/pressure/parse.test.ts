import { readFileSync } from 'node:fs';
import test from 'ava';
import { ParseError, parseLoadavg, parseMeminfo, parseProcStat, parsePsi } from '../../../src/collectors/pressure/parse.js';
import { repoPath } from '../../helpers/tmp.js';

const fixture = (path: string) => readFileSync(repoPath('test/fixtures/host', path), 'utf8');

test('PSI with some and full lines (recorded on this project\'s build host, kernel 6.18)', (t) => {
  const io = parsePsi(fixture('this-machine/proc/pressure/io'));
  t.truthy(io.some);
  t.truthy(io.full);
  t.true(io.some!.totalSeconds >= io.full!.totalSeconds, 'some includes full');
});

test('PSI totals are microseconds turned into seconds', (t) => {
  t.deepEqual(parsePsi('some avg10=12.40 avg60=8.02 avg300=3.55 total=812345678\nfull avg10=10.01 avg60=6.50 avg300=2.90 total=701234567\n'), {
    some: { avg10: 12.4, avg60: 8.02, avg300: 3.55, totalSeconds: 812.345678 },
    full: { avg10: 10.01, avg60: 6.5, avg300: 2.9, totalSeconds: 701.234567 },
  });
});

test('cpu without a full line (kernels before 5.13) and irq with only a full line', (t) => {
  const cpu = parsePsi(fixture('kernel-5.4/proc/pressure/cpu'));
  t.truthy(cpu.some);
  t.is(cpu.full, undefined);
  const irq = parsePsi(fixture('modern/proc/pressure/irq'));
  t.is(irq.some, undefined);
  t.is(irq.full!.totalSeconds, 1.234567);
});

test('malformed PSI is a ParseError naming the file and what was wrong', (t) => {
  t.throws(() => parsePsi('', '/proc/pressure/cpu'), { instanceOf: ParseError, message: '/proc/pressure/cpu: no "some" or "full" line' });
  t.throws(() => parsePsi('some avg10=x avg60=0 avg300=0 total=1', 'f'), { instanceOf: ParseError, message: /bad field "avg10=x"/ });
  t.throws(() => parsePsi('some avg10=0 avg60=0 avg300=0', 'f'), { instanceOf: ParseError, message: /has no total/ });
  t.throws(() => parsePsi('partial avg10=0 avg60=0 avg300=0 total=1', 'f'), { instanceOf: ParseError, message: /unexpected line/ });
});

test('meminfo in bytes, counts without a unit kept as counts', (t) => {
  const m = parseMeminfo(fixture('kernel-5.4/proc/meminfo'));
  t.is(m.get('MemTotal'), 8152676 * 1024);
  t.is(m.get('MemAvailable'), 5123400 * 1024);
  t.is(m.get('SwapTotal'), 2097148 * 1024);
  t.is(m.get('SwapFree'), 2090000 * 1024);
  const real = parseMeminfo(fixture('this-machine/proc/meminfo'));
  t.true(real.get('MemTotal')! > real.get('MemAvailable')!);
  t.is(real.get('HugePages_Total'), 0);
  t.throws(() => parseMeminfo('garbage'), { instanceOf: ParseError, message: 'meminfo: no MemTotal line' });
});

test('loadavg', (t) => {
  t.deepEqual(parseLoadavg(fixture('modern/proc/loadavg')), { load1: 3.41, load5: 2.87, load15: 2.12, runnable: 5, threads: 912 });
  t.notThrows(() => parseLoadavg(fixture('this-machine/proc/loadavg')));
  t.throws(() => parseLoadavg('1 2 3'), { instanceOf: ParseError });
});

test('/proc/stat recorded on the build host: 2 CPUs, totals from the aggregate cpu line', (t) => {
  // cpu  316233 0 84957 1326743 14984 0 1744 8252 0 0
  t.deepEqual(parseProcStat(fixture('this-machine/proc/stat')), {
    totalTicks: 316233 + 84957 + 1326743 + 14984 + 1744 + 8252,
    busyTicks: 316233 + 84957 + 1744 + 8252,
    cores: 2,
  });
});

test('/proc/stat in the documented format: 4 CPUs, guest time not counted twice', (t) => {
  // cpu  4794870 12250 1606410 32064130 79385 0 122480 4750 19700 0: guest 19700 is inside user already.
  t.deepEqual(parseProcStat(fixture('modern/proc/stat')), { totalTicks: 38684275, busyTicks: 6540760, cores: 4 });
});

test('/proc/stat of an old kernel with four columns: the missing ones count as 0', (t) => {
  t.deepEqual(parseProcStat('cpu  600 50 250 9100\ncpu0 300 25 125 4550\ncpu1 300 25 125 4550\nintr 0\n'), {
    totalTicks: 10000,
    busyTicks: 900,
    cores: 2,
  });
});

test('malformed /proc/stat is a ParseError naming the file and what was wrong', (t) => {
  const path = '/host/proc/stat';
  t.throws(() => parseProcStat('garbage\n', path), { instanceOf: ParseError, message: '/host/proc/stat: no aggregate "cpu" line' });
  t.throws(() => parseProcStat('', path), { instanceOf: ParseError, message: /^\/host\/proc\/stat: / });
  t.throws(() => parseProcStat('cpu  1 2 x 4\ncpu0 1 2 3 4\n', path), { instanceOf: ParseError, message: /^\/host\/proc\/stat: bad column "x"/ });
  t.throws(() => parseProcStat('cpu  1 2 3\ncpu0 1 2 3\n', path), { instanceOf: ParseError, message: /^\/host\/proc\/stat: "cpu" line has 3 columns/ });
  t.throws(() => parseProcStat('cpu  1 2 3 4\n', path), { instanceOf: ParseError, message: '/host/proc/stat: no per-CPU "cpuN" lines' });
  t.throws(() => parseProcStat('cpu  1 2 3 4\ncpu  1 2 3 4\ncpu0 1 2 3 4\n', path), { instanceOf: ParseError, message: /more than one aggregate/ });
  t.throws(() => parseProcStat('garbage'), { instanceOf: ParseError, message: /^stat: / });
});
