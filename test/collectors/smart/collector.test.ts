import { readFile, writeFile } from 'node:fs/promises';
import test from 'ava';
import { SmartCollector, type SmartCollectorSettings } from '../../../src/collectors/smart/collector.js';
import { Smartctl } from '../../../src/collectors/smart/smartctl.js';
import { execFile, type Exec } from '../../../src/exec.js';
import { captureLogger } from '../../helpers/logger.js';
import { maxOverlap, recording, STAND_IN, standIn, type StandIn } from '../../helpers/stand-in.js';

const ATA = recording('scrutiny/smart-ata-full.json');
const NVME = recording('scrutiny/smart-nvme.json');
const FAILING = recording('scrutiny/smart-fail2.json');
const MEGA0 = recording('scrutiny/smart-megaraid0.json');
const MEGA1 = recording('scrutiny/smart-megaraid1.json');

function collectorFor(fake: StandIn, settings: Partial<SmartCollectorSettings> = {}, timeoutMs = 5000, maxOutputBytes = 8 * 1024 * 1024) {
  const exec: Exec = (argv, options) => execFile(argv, { ...options, env: { ...process.env, ...fake.env } });
  const { logger, lines } = captureLogger();
  const collector = new SmartCollector(
    { scan: true, devices: [], include: [], exclude: [], rescanIntervalMs: 3_600_000, maxConcurrency: 2, standbyMaxSkips: 3, ...settings },
    new Smartctl({ path: STAND_IN, timeoutMs, maxOutputBytes }, exec),
    logger,
  );
  return { collector, lines };
}

const signal = () => new AbortController().signal;

/** Killed: gone, or a zombie its new parent has not reaped yet. */
async function deadOrZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || stat.split(') ')[1]!.startsWith('Z');
}

test('scan and read: ATA, NVMe and two megaraid members behind one path get their own disk ids', async (t) => {
  const fake = await standIn(
    t,
    { '/dev/sda': { file: ATA }, '/dev/nvme0': { file: NVME }, '/dev/bus/0;megaraid,0': { file: MEGA0 }, '/dev/bus/0;megaraid,1': { file: MEGA1 } },
    ['/dev/sda;sat', '/dev/nvme0;nvme', '/dev/bus/0;megaraid,0', '/dev/bus/0;megaraid,1'],
  );
  const { collector } = collectorFor(fake);
  const { devices } = await collector.collect(signal());
  t.is(devices.length, 4);
  t.true(devices.every((d) => d.reading && !d.lastError), JSON.stringify(devices.map((d) => d.lastError)));
  const ids = devices.map((d) => d.reading!.disk);
  t.is(new Set(ids).size, 4, ids.join(', '));
  t.deepEqual(devices.map((d) => d.reading!.protocol), ['ata', 'nvme', 'ata', 'ata']);
  const calls = await fake.calls();
  t.true(calls.some((c) => c.argv.includes('-d megaraid,1 /dev/bus/0')), 'the passthrough type is passed with -d');
  t.true(calls.filter((c) => c.what === 'start' && !c.argv.includes('--scan')).every((c) => c.argv.includes('--nocheck=standby,3')));
});

test('a sleeping disk is not woken, keeps its last values, and is read anyway after N skips', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { file: ATA } }, ['/dev/sda;sat']);
  const { collector } = collectorFor(fake, { standbyMaxSkips: 2 });
  const first = await collector.collect(signal());
  const before = first.devices[0]!.reading;
  await fake.set({ '/dev/sda': { file: ATA, standby: true } }, ['/dev/sda;sat']);
  const asleep1 = await collector.collect(signal());
  const asleep2 = await collector.collect(signal());
  t.true(asleep1.devices[0]!.asleep);
  t.is(asleep2.devices[0]!.consecutiveSkips, 2);
  t.deepEqual(asleep2.devices[0]!.reading, before, 'last known values kept');
  t.is(asleep2.devices[0]!.lastError, undefined, 'asleep is not a failure');
  const forced = await collector.collect(signal());
  t.false(forced.devices[0]!.asleep);
  t.is(forced.devices[0]!.consecutiveSkips, 0);
  const reads = (await fake.calls()).filter((c) => c.what === 'start' && c.argv.includes('/dev/sda'));
  t.deepEqual(
    reads.map((c) => /--nocheck=(\S+)/.exec(c.argv)![1]),
    ['standby,3', 'standby,3', 'standby,3', 'never'],
  );
});

test('a hung device is killed with its process group at the timeout, does not block the others, and is backed off', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { hang: true }, '/dev/sdb': { file: ATA }, '/dev/sdc': { file: NVME } }, ['/dev/sda;sat', '/dev/sdb;sat', '/dev/sdc;nvme']);
  // The timeout also bounds the scan and the healthy reads (a node process each here): long enough
  // for those on a loaded 2-core machine, so only the hung device can reach it.
  const timeoutMs = 2500;
  const { collector, lines } = collectorFor(fake, {}, timeoutMs);
  const started = Date.now();
  const round = await collector.collect(signal());
  const took = Date.now() - started;
  t.true(took < 2 * timeoutMs, `the round waits for the hung call only, not for it and the others in turn (${took} ms)`);
  const [hung, ...others] = round.devices;
  t.is(hung!.lastError?.reason, 'timeout');
  t.true(others.every((d) => d.reading), `the other devices were read: ${JSON.stringify(others.map((d) => d.lastError))}`);
  const children = await fake.children();
  t.is(children.length, 1);
  t.true(await deadOrZombie(children[0]!), 'the hung child of smartctl was killed too');
  // Backoff: the next round skips it; the one after tries again.
  await collector.collect(signal());
  t.is((await fake.calls()).filter((c) => c.what === 'start' && c.argv.endsWith('/dev/sda')).length, 1);
  await collector.collect(signal());
  t.is((await fake.calls()).filter((c) => c.what === 'start' && c.argv.endsWith('/dev/sda')).length, 2);
  t.is(lines().filter((l) => l.reason === 'timeout').length, 1, 'logged once while it stays hung');
});

test('garbage output and output past the bound are failures with their reason, not crashes', async (t) => {
  const fake = await standIn(
    t,
    {
      '/dev/sda': { garbage: 'Segmentation fault\n{"json_format_version": [1, 0], "smartctl": {' },
      '/dev/sdb': { bigOutputBytes: 9 * 1024 * 1024 },
      '/dev/sdc': { file: ATA },
    },
    ['/dev/sda;sat', '/dev/sdb;sat', '/dev/sdc;sat'],
  );
  const { collector } = collectorFor(fake);
  const { devices } = await collector.collect(signal());
  t.is(devices[0]!.lastError?.reason, 'not_json');
  t.is(devices[1]!.lastError?.reason, 'output_too_large');
  t.regex(devices[1]!.lastError!.message, /8388608 bytes/);
  t.truthy(devices[2]!.reading);
});

test('every exit-status bit: 0 and 1 are failures with a reason, 2-7 are data plus evidence', async (t) => {
  const bits = [1, 2, 4, 8, 16, 32, 64, 128];
  const devices = Object.fromEntries(bits.map((bit, i) => [`/dev/sd${'abcdefgh'[i]}`, { file: ATA, exit: bit }]));
  const fake = await standIn(t, devices, Object.keys(devices).map((d) => `${d};sat`));
  const { collector } = collectorFor(fake, { maxConcurrency: 4 });
  const round = await collector.collect(signal());
  const byExit = new Map(round.devices.map((d, i) => [bits[i]!, d]));
  t.is(byExit.get(1)!.lastError?.reason, 'command_line');
  t.is(byExit.get(2)!.lastError?.reason, 'open_failed');
  const flag = (bit: number) => byExit.get(bit)!.reading!.exitStatus;
  t.true(flag(4).commandFailed);
  t.true(flag(8).diskFailing);
  t.true(flag(16).prefailBelowThreshold);
  t.true(flag(32).pastBelowThreshold);
  t.true(flag(64).errorLogHasErrors);
  t.true(flag(128).selfTestLogHasErrors);
  t.false(flag(128).diskFailing);
});

test('at most max_concurrency smartctl processes run at once', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((c) => `/dev/sd${c}`);
  const fake = await standIn(t, Object.fromEntries(names.map((n) => [n, { file: ATA, delayMs: 300 }])), names.map((n) => `${n};sat`));
  const { collector } = collectorFor(fake, { maxConcurrency: 3 });
  await collector.collect(signal());
  const calls = (await fake.calls()).filter((c) => !c.argv.includes('--scan'));
  t.is(calls.filter((c) => c.what === 'start').length, 8);
  t.is(maxOverlap(calls), 3);
});

test('the drive\'s own failing verdict comes through (the failing Hitachi, exit 216)', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { file: FAILING } }, ['/dev/sda;sat']);
  const { collector } = collectorFor(fake);
  const reading = (await collector.collect(signal())).devices[0]!.reading!;
  t.false(reading.smartPassed);
  t.true(reading.exitStatus.diskFailing);
  t.is(reading.exitStatus.raw, 216);
});

test('include/exclude filter scanned devices; explicit devices are always read; removed devices are dropped', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { file: ATA }, '/dev/sdb': { file: ATA }, '/dev/nvme0': { file: NVME }, '/dev/sdz': { file: ATA } }, [
    '/dev/sda;sat',
    '/dev/sdb;sat',
    '/dev/nvme0;nvme',
  ]);
  const { collector } = collectorFor(fake, { include: [/^\/dev\/sd/], exclude: [/sdb$/], devices: [{ path: '/dev/sdz', type: 'sat' }], rescanIntervalMs: 0 });
  const round = await collector.collect(signal());
  t.deepEqual(round.devices.map((d) => d.spec.path).sort(), ['/dev/sda', '/dev/sdz']);
  await fake.set({ '/dev/sdz': { file: ATA } }, []);
  const later = await collector.collect(signal());
  t.deepEqual(later.devices.map((d) => d.spec.path), ['/dev/sdz']);
});

test('a failing scan keeps the devices found before and says so once', async (t) => {
  const fake = await standIn(t, { '/dev/sda': { file: ATA } }, ['/dev/sda;sat']);
  const { collector, lines } = collectorFor(fake, { rescanIntervalMs: 0 });
  await collector.collect(signal());
  await fake.set({ '/dev/sda': { file: ATA } }, []);
  // Break the scan only: a scan answer that is not smartctl's JSON.
  const config = JSON.parse(await (await import('node:fs/promises')).readFile(fake.env.FAKE_SMARTCTL_CONFIG!, 'utf8'));
  config.scan = 'not a scan';
  await writeFile(fake.env.FAKE_SMARTCTL_CONFIG!, JSON.stringify(config));
  const round = await collector.collect(signal());
  await collector.collect(signal());
  t.truthy(round.scanError);
  t.is(round.devices.length, 1);
  t.truthy(round.devices[0]!.reading);
  t.is(lines().filter((l) => l.msg === 'device scan failed; keeping the devices found before').length, 1);
});

test('a device the scan calls scsi that answers as ATA (SAT layer) is read as sat from then on', async (t) => {
  // What smartctl -d scsi shows for a SATA disk behind a SAS HBA: SCSI pages with vendor "ATA".
  // Built from a real SCSI recording with the vendor changed, as no such recording is shipped.
  const scsi = JSON.parse(await readFile(recording('smartctl_exporter/HITACHI_H109060SESUN600G_10.json'), 'utf8'));
  scsi.scsi_vendor = 'ATA';
  const { writeFile: write } = await import('node:fs/promises');
  const { tempDir } = await import('../../helpers/tmp.js');
  const dir = await tempDir(t);
  await write(`${dir}/as-scsi.json`, JSON.stringify(scsi));
  const fake = await standIn(t, { '/dev/sda;scsi': { file: `${dir}/as-scsi.json` }, '/dev/sda;sat': { file: ATA } }, ['/dev/sda;scsi']);
  const { collector } = collectorFor(fake);
  const first = await collector.collect(signal());
  t.is(first.devices[0]!.reading!.protocol, 'ata');
  t.truthy(first.devices[0]!.reading!.ata?.attributes.length);
  await collector.collect(signal());
  const reads = (await fake.calls()).filter((c) => c.what === 'start' && c.argv.endsWith('/dev/sda')).map((c) => /-d (\S+)/.exec(c.argv)![1]);
  t.deepEqual(reads, ['scsi', 'sat', 'sat'], 'asked as scsi once, then as sat');
});
