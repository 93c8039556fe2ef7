import test from 'ava';
import { fleetHosts, fleetJson, fleetSummary, maintenanceJson } from '../../src/fleet/api.js';
import { maintenanceSchedule, TOP_EVIDENCE } from '../../src/fleet/maintenance.js';
import { diskRecord, T0 } from '../helpers/fleet-records.js';

const HOSTS = [
  { host: 'db1', state: 'online' as const, lastSeenMs: T0 },
  { host: 'db2', state: 'offline' as const, reason: 'connection lost', lastSeenMs: T0 },
];

test('the schedule holds degraded and failing disks only, by replace-by date, then probability, then host and disk', (t) => {
  const disks = [
    diskRecord('db1', 'sda', 'ok'),
    diskRecord('db1', 'sdc', 'watch'),
    diskRecord('db1', 'sdd', 'degraded', { replaceBy: '2026-12-20', probability: 0.3 }),
    diskRecord('db2', 'sdb', 'failing', { replaceBy: '2026-12-02', probability: 0.9 }),
    diskRecord('db1', 'sdb', 'degraded', { replaceBy: '2026-12-20', probability: 0.6 }),
    diskRecord('db3', 'sdz', 'degraded', { replaceBy: undefined }),
    diskRecord('db2', 'sda', 'degraded', { replaceBy: '2026-12-20', probability: 0.6 }),
    diskRecord('db1', 'sde', 'failing', { replaceBy: '2026-12-05', probability: 0.5 }),
  ];
  const schedule = maintenanceSchedule(disks, HOSTS);
  t.deepEqual(
    schedule.map((m) => [m.replaceBy, m.probability, `${m.host}/${m.disk}`]),
    [
      ['2026-12-02', 0.9, 'db2/sdb'],
      ['2026-12-05', 0.5, 'db1/sde'],
      ['2026-12-20', 0.6, 'db1/sdb'],
      ['2026-12-20', 0.6, 'db2/sda'],
      ['2026-12-20', 0.3, 'db1/sdd'],
      [undefined, 0.6, 'db3/sdz'],
    ],
  );
  t.deepEqual(schedule.map((m) => m.hostState), ['offline', 'online', 'online', 'offline', 'online', 'unknown']);
  t.is(schedule[0]!.evidence.length, TOP_EVIDENCE, 'the strongest evidence, as many as the schedule shows');
  t.is(schedule[0]!.evidence[0]!.signal, 'pending_sectors');
});

test('/api/maintenance: every item has the same keys, null where unknown', (t) => {
  const json = maintenanceJson(maintenanceSchedule([diskRecord('db1', 'sdb', 'failing', { model: undefined })], HOSTS), T0) as { generated: string; disks: object[] };
  t.is(json.generated, new Date(T0).toISOString());
  t.deepEqual(json.disks[0], {
    host: 'db1',
    host_state: 'online',
    disk: 'sdb',
    device: '/dev/sdb',
    model: null,
    serial: 'SN-db1-sdb',
    level: 'failing',
    probability: 0.95,
    horizon_days: 30,
    replace_by: '2026-12-20',
    overdue: false,
    episode_started: '2026-11-27T08:00:00.000Z',
    last_reading: new Date(T0).toISOString(),
    evidence: diskRecord('db1', 'sdb', 'failing').evidence.slice(0, 3),
  });
});

test('/api/fleet: hosts with their disks; a host known only from its disks is unknown; a summary by state and level', (t) => {
  const hosts = fleetHosts(HOSTS, [diskRecord('db1', 'sda', 'ok'), diskRecord('db1', 'sdb', 'failing'), diskRecord('db0', 'sda', 'watch', { updatedMs: T0 + 5 })]);
  t.deepEqual(
    hosts.map((h) => [h.host, h.state, h.disks.map((d) => d.disk)]),
    [
      ['db0', 'unknown', ['sda']],
      ['db1', 'online', ['sda', 'sdb']],
      ['db2', 'offline', []],
    ],
  );
  t.is(hosts[0]!.lastSeenMs, T0 + 5);
  t.deepEqual(fleetSummary(hosts), { hosts: { online: 1, offline: 1, unknown: 1 }, disks: { ok: 1, watch: 1, degraded: 0, failing: 1 } });
  const json = fleetJson(hosts, T0) as { hosts: Array<Record<string, any>> };
  t.like(json.hosts[2], { host: 'db2', state: 'offline', reason: 'connection lost', version: null, last_seen: new Date(T0).toISOString(), disks: [] });
  t.like(json.hosts[1]!.disks[1], { disk: 'sdb', level: 'failing', predicted_level: 'failing', replace_by: '2026-12-20', updated: new Date(T0).toISOString() });
});
