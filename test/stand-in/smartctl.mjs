#!/usr/bin/env node
// A stand-in for smartctl: there are no SMART disks on the test machines, so the collector is
// driven through this script, which answers with real recorded smartctl output. What it does per
// device comes from the JSON file named by $FAKE_SMARTCTL_CONFIG:
//   { "scan": {...smartctl --scan-open --json output...},
//     "devices": { "/dev/sda": { "file": "recording.json", "exit": 0 },
//                  "/dev/bus/0;megaraid,1": { "file": "…" },            (path;type when -d given)
//                  "/dev/sdb": { "standby": true, "file": "…" },         (asleep: honours --nocheck)
//                  "/dev/sdc": { "hang": true },                         (never answers; forks a child)
//                  "/dev/sdd": { "garbage": "text" },
//                  "/dev/sde": { "bigOutputBytes": 9000000 } },
//     "log": "/tmp/dir" }  (each call appends "start|end <ms> <pid> <argv>" lines there)
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const config = JSON.parse(readFileSync(process.env.FAKE_SMARTCTL_CONFIG, 'utf8'));
const argv = process.argv.slice(2);
const log = (what) => config.log && appendFileSync(join(config.log, 'calls.log'), `${what} ${Date.now()} ${process.pid} ${argv.join(' ')}\n`);
log('start');
const finish = (text, code) => {
  process.stdout.write(text, () => {
    log('end');
    process.exit(code);
  });
};

if (argv.includes('--scan-open') || argv.includes('--scan')) {
  finish(JSON.stringify(config.scan ?? { devices: [] }), 0);
} else {
  const path = argv[argv.length - 1];
  const d = argv.indexOf('-d');
  const type = d >= 0 ? argv[d + 1] : undefined;
  const device = (type && config.devices[`${path};${type}`]) || config.devices[path];
  const nocheck = argv.find((a) => a.startsWith('--nocheck='))?.slice('--nocheck='.length) ?? 'never';
  if (!device) {
    finish(JSON.stringify({
      json_format_version: [1, 0],
      smartctl: { version: [7, 3], exit_status: 2, messages: [{ string: `${path}: No such device`, severity: 'error' }] },
      device: { name: path, info_name: path, type: type ?? 'ata' },
    }), 2);
  } else if (device.hang) {
    // A stuck device: smartctl and a child of its own both wait forever.
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    if (config.log) appendFileSync(join(config.log, 'children'), `${child.pid}\n`);
    setInterval(() => {}, 1000);
  } else if (device.garbage !== undefined) {
    finish(device.garbage, 0);
  } else if (device.bigOutputBytes) {
    finish('{"padding":"' + 'x'.repeat(device.bigOutputBytes) + '"}', 0);
  } else if (device.standby && nocheck.startsWith('standby')) {
    // smartctl -n standby,N prints a note and exits with N, without spinning the disk up.
    const code = Number(nocheck.split(',')[1] ?? 2);
    finish(`Device is in STANDBY mode, exit(${code})\n`, code);
  } else {
    const text = readFileSync(device.file, 'utf8');
    const recorded = JSON.parse(text).smartctl?.exit_status ?? 0;
    setTimeout(() => finish(text, device.exit ?? recorded), device.delayMs ?? 0);
  }
}
