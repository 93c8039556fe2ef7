#!/usr/bin/env node
// Writes examples/replay/: a replay directory (`harbinger run --smart.replay examples/replay`) with
// two healthy disks and one that degrades over four rounds. The degrading disk is the real failing
// Hitachi HDS721050DLE630 recording (test/fixtures/smartctl/scrutiny/smart-fail2.json, MIT, see
// test/fixtures/smartctl/SOURCES.md); its three earlier rounds are that recording with the failure
// evidence scaled back (reallocated and pending sectors, error log, self-test log, exit status),
// since no one recorded this drive before it failed.
//
//   node scripts/make-degrading-replay.mjs
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixture = (name) => readFileSync(join(root, 'test/fixtures/smartctl', name), 'utf8');
const out = join(root, 'examples/replay');
mkdirSync(join(out, 'sdb'), { recursive: true });
writeFileSync(join(out, 'sda.json'), fixture('scrutiny/smart-ata-full.json'));
writeFileSync(join(out, 'nvme0.json'), fixture('scrutiny/smart-nvme.json'));

const failing = JSON.parse(fixture('scrutiny/smart-fail2.json'));

/** The failing recording as it would have read earlier in the drive's decline. */
function earlier({ hours, realloc, reallocValue, events, pending, errors, exit }) {
  const r = structuredClone(failing);
  r.smartctl.exit_status = exit;
  r.smart_status.passed = true;
  r.power_on_time.hours = hours;
  for (const a of r.ata_smart_attributes.table) {
    const set = (raw, value) => {
      a.raw = { value: raw, string: String(raw) };
      if (value !== undefined) a.value = a.worst = value;
      a.when_failed = '';
    };
    if (a.id === 5) set(realloc, reallocValue);
    if (a.id === 9) set(hours, 91);
    if (a.id === 196) set(events, reallocValue);
    if (a.id === 197) set(pending);
  }
  r.ata_smart_error_log.summary.count = errors;
  r.ata_smart_error_log.summary.logged_count = Math.min(errors, 5);
  r.ata_smart_error_log.summary.table = r.ata_smart_error_log.summary.table.slice(0, Math.min(errors, 5));
  // Before the decline the self-tests passed: keep only the passing entries.
  r.ata_smart_self_test_log.standard.table = r.ata_smart_self_test_log.standard.table.filter((e) => e.status.passed);
  return r;
}

const rounds = [
  earlier({ hours: 65500, realloc: 0, reallocValue: 100, events: 0, pending: 0, errors: 0, exit: 0 }),
  earlier({ hours: 65530, realloc: 96, reallocValue: 97, events: 40, pending: 8, errors: 3, exit: 64 }),
  earlier({ hours: 65560, realloc: 1200, reallocValue: 40, events: 2400, pending: 8, errors: 30, exit: 64 }),
  failing,
];
rounds.forEach((r, i) => writeFileSync(join(out, 'sdb', `${String(i + 1).padStart(3, '0')}.json`), `${JSON.stringify(r, null, 1)}\n`));
console.log(`wrote ${out}`);
