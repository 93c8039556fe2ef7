#!/usr/bin/env node
// SMART collection cost with many disks, through the stand-in smartctl (test/stand-in/smartctl.mjs,
// which answers with real recordings; there are no SMART disks on the build machines):
//   - wall time of one SMART round over 64 devices at the default concurrency (2);
//   - scrape latency of an agent with 64 disks against one with 1 disk, interleaved.
//
//   npm run build && node scripts/bench-smart.mjs [--devices 64] [--scrapes 2000]
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, interleavedLatency, root, scrape, start, stopAll, waitServing } from './bench-lib.mjs';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '64' }, scrapes: { type: 'string', default: '2000' } } });
const deviceCount = Number(values.devices);
const scrapes = Number(values.scrapes);

// Real ATA, NVMe and SCSI recordings, cycled over the devices.
const fixtures = [];
for (const source of ['smartctl_exporter', 'scrutiny']) {
  for (const f of await readdir(join(root, 'test/fixtures/smartctl', source))) {
    if (/^(sat-|nvme-|HITACHI|INTEL|SAMSUNG|WDC|smart-ata|smart-nvme|smart-scsi)/.test(f)) fixtures.push(join(root, 'test/fixtures/smartctl', source, f));
  }
}

async function standInConfig(count) {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-bench-'));
  const devices = {};
  const scan = [];
  for (let i = 0; i < count; i++) {
    const path = `/dev/disk${i}`;
    devices[path] = { file: fixtures[i % fixtures.length] };
    scan.push({ name: path, info_name: path, type: 'auto', protocol: 'ATA' });
  }
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ devices, scan: { json_format_version: [1, 0], smartctl: { version: [7, 3], exit_status: 0 }, devices: scan } }));
  return file;
}

const args = (port) => [
  'run',
  '--config', join(root, 'examples/harbinger.yml'),
  '--web.listen-address', `127.0.0.1:${port}`,
  '--no-collector.host',
  '--collector.smart.smartctl-path', join(root, 'test/stand-in/smartctl.mjs'),
];
const launcher = join(root, 'bin/harbinger');
const [manyPort, onePort] = [await freePort(), await freePort()];
const started = Date.now();
start('harbinger (many disks)', launcher, args(manyPort), { ...process.env, FAKE_SMARTCTL_CONFIG: await standInConfig(deviceCount) });
start('harbinger (1 disk)', launcher, args(onePort), { ...process.env, FAKE_SMARTCTL_CONFIG: await standInConfig(1) });
await Promise.all([waitServing(manyPort), waitServing(onePort)]);

async function firstRound(port) {
  for (;;) {
    const text = (await scrape(port)).body;
    const duration = /^harbinger_collector_duration_seconds\{collector="smart"\} (\S+)$/m.exec(text);
    const disks = (text.match(/^harbinger_disk_info\{/gm) ?? []).length;
    if (duration) return { seconds: Number(duration[1]), disks };
    await new Promise((r) => setTimeout(r, 200));
  }
}
const many = await firstRound(manyPort);
const one = await firstRound(onePort);
const [manyLatency, oneLatency] = await interleavedLatency([manyPort, onePort], scrapes);
stopAll();

const result = {
  node: process.version,
  round: { devices: deviceCount, disks_with_data: many.disks, concurrency: 2, wall_seconds: many.seconds, first_scrape_after_start_seconds: (Date.now() - started) / 1000 },
  one_disk_round_seconds: one.seconds,
  scrape_latency_ms: { [`${deviceCount}_disks`]: manyLatency, '1_disk': oneLatency, scrapes },
};
console.log(JSON.stringify(result, null, 2));
const f = (n) => n.toFixed(2);
console.log(`
| measure | ${deviceCount} disks | 1 disk |
|---|---|---|
| one SMART round, concurrency 2 (stand-in smartctl) | ${f(many.seconds)} s | ${f(one.seconds)} s |
| scrape latency, median (${scrapes} scrapes, interleaved) | ${f(manyLatency.median)} ms | ${f(oneLatency.median)} ms |
| scrape latency, p99 | ${f(manyLatency.p99)} ms | ${f(oneLatency.p99)} ms |
| scrape size | ${manyLatency.bytes} bytes | ${oneLatency.bytes} bytes |`);
process.exit(0);
