import { arch, cpus, release, totalmem, type } from 'node:os';
import test from 'ava';
import { parseCpuinfo, parseOsRelease, readHostInfo } from '../../../src/collectors/host-info.js';
import { repoPath } from '../../helpers/tmp.js';

const TREE = repoPath('test/fixtures/host/this-machine');

test('the recorded build host: distribution, kernel, CPU and memory from its own files', async (t) => {
  const info = await readHostInfo(`${TREE}/proc`, [`${TREE}/etc/os-release`]);
  t.deepEqual(info, {
    os: 'Debian GNU/Linux',
    osRelease: '12',
    kernel: '6.18.44-fc-v509',
    arch: arch(),
    cpuModel: 'AMD EPYC',
    cpuCores: 2,
    cpuThreads: 2,
    memoryBytes: 24_684_100 * 1024,
  });
});

test('os-release: the first file that exists; quoted, escaped and bare values', async (t) => {
  const info = await readHostInfo(`${TREE}/proc`, ['/nonexistent/os-release', `${TREE}/etc/os-release`]);
  t.is(info.os, 'Debian GNU/Linux');
  const fields = parseOsRelease(['# a comment', 'NAME="Rocky \\"Linux\\""', "VERSION_ID='9.4'", 'ID=rocky', 'BROKEN LINE', ''].join('\n'));
  t.deepEqual(Object.fromEntries(fields), { NAME: 'Rocky "Linux"', VERSION_ID: '9.4', ID: 'rocky' });
});

test('cpuinfo: physical cores are distinct package/core pairs (two sockets, hyper-threading)', (t) => {
  const block = (cpu: number, pkg: number, core: number) =>
    [`processor\t: ${cpu}`, 'vendor_id\t: GenuineIntel', 'model name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', `physical id\t: ${pkg}`, `core id\t\t: ${core}`].join('\n');
  const blocks = [];
  for (let thread = 0; thread < 2; thread++) for (let pkg = 0; pkg < 2; pkg++) for (let core = 0; core < 3; core++) blocks.push(block(blocks.length, pkg, core));
  t.deepEqual(parseCpuinfo(`${blocks.join('\n\n')}\n\n`), { model: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', threads: 12, cores: 6 });
});

test('cpuinfo without model name or topology (ARM): the threads are counted, the rest comes from node:os', (t) => {
  const arm = ['processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41', 'processor\t: 1\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41', 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4', ''].join('\n\n');
  t.deepEqual(parseCpuinfo(arm), { model: undefined, threads: 2, cores: undefined });
});

test('a procfs without these files (not Linux, a bare container): every field from node:os, nothing thrown', async (t) => {
  const info = await readHostInfo('/nonexistent', []);
  t.deepEqual(info, {
    os: type(),
    osRelease: '',
    kernel: release(),
    arch: arch(),
    cpuModel: cpus()[0]?.model.trim() ?? '',
    cpuCores: cpus().length,
    cpuThreads: cpus().length,
    memoryBytes: totalmem(),
  });
});
