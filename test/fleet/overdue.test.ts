import test from 'ava';
import { fleetHosts, maintenanceJson } from '../../src/fleet/api.js';
import { fleetPage } from '../../src/fleet/html.js';
import { maintenanceSchedule } from '../../src/fleet/maintenance.js';
import { formatCheck, type CheckReport } from '../../src/check.js';
import { isOverdue } from '../../src/predict/replace-by.js';
import type { HostRecord } from '../../src/fleet/types.js';
import { diskRecord } from '../helpers/fleet-records.js';

// diskRecord's degraded and failing disks are to be replaced by 2026-12-20.
const DURING = Date.parse('2026-12-20T23:59:59Z');
const AFTER = Date.parse('2026-12-21T00:00:00Z');

test('a replace-by date is overdue once its day (UTC) has ended', (t) => {
  t.false(isOverdue('2026-12-20', Date.parse('2026-12-19T12:00:00Z')));
  t.false(isOverdue('2026-12-20', DURING));
  t.true(isOverdue('2026-12-20', AFTER));
});

test('the schedule says which disks are overdue: /api/maintenance `overdue`, the fleet page', (t) => {
  const disks = [diskRecord('db1', 'sda', 'degraded'), diskRecord('db1', 'sdb', 'ok')];
  const hosts: HostRecord[] = [{ host: 'db1', state: 'online', lastSeenMs: DURING }];
  const schedule = maintenanceSchedule(disks, hosts);
  const json = (nowMs: number) => (maintenanceJson(schedule, nowMs) as { disks: Array<{ disk: string; overdue: boolean }> }).disks;
  t.deepEqual(json(DURING), [{ ...json(DURING)[0]!, disk: 'sda', overdue: false }]);
  t.true(json(AFTER)[0]!.overdue);
  const page = (nowMs: number) => fleetPage(fleetHosts(hosts, disks), schedule, [], '0.0.0', nowMs);
  t.false(page(DURING).includes('overdue'));
  t.true(page(AFTER).includes('2026-12-20 <strong class="failing">overdue</strong>'));
});

test('harbinger check marks a date that has passed', (t) => {
  const report = {
    status: 'degraded',
    disks: [{ disk: 'wwn-1', device: '/dev/sda', level: 'degraded', probability: 0.1, horizonDays: 30, replaceBy: '2026-12-20', evidence: [], protocol: 'ata', readingAtMs: 0 }],
    roles: { 'wwn-1': { role: 'system', reason: 'carries / (no database data)', targets: [], paths: [] } },
    devicesWithoutData: [],
    collectorErrors: {},
    databases: [],
  } as unknown as CheckReport;
  t.regex(formatCheck(report, DURING), /DEGRADED\s+10\.0%\s+2026-12-20\s+system$/m);
  t.regex(formatCheck(report, AFTER), /DEGRADED\s+10\.0%\s+2026-12-20 OVERDUE\s+system$/m);
  t.regex(formatCheck(report, DURING), /^wwn-1: system: carries \/ \(no database data\)$/m);
});
