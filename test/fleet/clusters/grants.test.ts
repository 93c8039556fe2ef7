import test from 'ava';
import { decideGrants, names, type GrantChange, type GrantRow } from '../../../src/fleet/clusters/grants.js';
import { ClusterView, poolMember, type Member, type MemberState } from '../../../src/fleet/clusters/members.js';
import type { ClusterBudget } from '../../../src/fleet/settings.js';
import type { BalanceReport, DrainRequest, DrainVerdict } from '../../../src/protocol/balance-report.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const LEASE = 10 * 60_000;
const CLUSTER = 'pg';
const COLLECTOR = 'fleet-1';
const ONE: ClusterBudget = { maxDrained: 1, maxUtilization: 0.9 };

const request = (id: string, verdict: DrainVerdict = 'prediction', sinceMs = NOW - 60_000, level: DrainRequest['level'] = 'failing'): DrainRequest => ({
  id,
  sinceMs,
  verdict,
  level,
  reason: 'disk wwn-1 (/dev/sdb) is failing and holds database data: replace it',
  disks: ['wwn-1'],
});

interface ReportOptions {
  state?: 'up' | 'drain' | 'down';
  cpu?: number | null;
  capacity?: number;
  request?: DrainRequest;
  decidedBy?: 'harbinger' | 'operator';
  timeMs?: number;
  cluster?: string | null;
  connections?: { used: number; max: number };
}

/** A member's report with healthy defaults: up at full weight, CPU 0.3, capacity 1, reporting every 30 s, reported just now. */
function report(host: string, o: ReportOptions = {}): BalanceReport {
  const state = o.state ?? 'up';
  const cpu = o.cpu === undefined ? 0.3 : o.cpu;
  const cluster = o.cluster === undefined ? CLUSTER : o.cluster;
  return {
    host,
    ...(cluster !== null ? { cluster } : {}),
    capacity: o.capacity ?? 1,
    timeMs: o.timeMs ?? NOW,
    reportIntervalSeconds: 30,
    state,
    weight: state === 'up' ? 100 : 0,
    reasons: [],
    sinceMs: NOW - 3_600_000,
    decidedBy: o.decidedBy ?? 'harbinger',
    own: { state, weight: state === 'up' ? 100 : 0, reasons: [] },
    override: o.decidedBy === 'operator' ? { mode: 'drain', reason: 'maintenance', by: 'root', since: new Date(NOW - 600_000).toISOString(), until: null } : null,
    ...(o.request ? { request: o.request } : {}),
    load: {
      ...(cpu !== null ? { cpuUtilization: cpu } : {}),
      databases: o.connections ? [{ target: 'pg', connections: o.connections.used, maxConnections: o.connections.max }] : [],
    },
  };
}

function member(host: string, o: ReportOptions & { offline?: Member['offline']; receivedMs?: number } = {}): Member {
  const r = report(host, o);
  const state: MemberState = o.offline ? 'offline' : r.state;
  return { host, cluster: CLUSTER, state, report: r, receivedMs: o.receivedMs ?? NOW, ...(o.offline ? { offline: o.offline } : {}) };
}

/** `gone`: why a host with a stored answer is known to have left (ClusterView.gone); by default no host is. */
function decide(members: Member[], current: GrantRow[] = [], budget: ClusterBudget = ONE, nowMs = NOW, gone: (host: string) => string | undefined = () => undefined): GrantChange[] {
  return decideGrants({ cluster: CLUSTER, members, gone, current, budget, leaseMs: LEASE, nowMs, collector: COLLECTOR });
}

const granted = (host: string, id: string, o: Partial<GrantRow> = {}): GrantRow => ({
  host,
  cluster: CLUSTER,
  request: id,
  state: 'granted',
  reason: `${host}'s data disk is failing: drain granted`,
  verdict: 'prediction',
  decidedMs: NOW - 60_000,
  leaseExpiresMs: NOW - 60_000 + LEASE,
  collector: COLLECTOR,
  ...o,
});

const kinds = (changes: GrantChange[]) => changes.map((c) => `${c.kind} ${c.row.host}`);
const change = (changes: GrantChange[], host: string) => changes.find((c) => c.row.host === host);

test('names lists hosts as a sentence', (t) => {
  t.is(names([]), '');
  t.is(names(['db1']), 'db1');
  t.is(names(['db1', 'db3']), 'db1 and db3');
  t.is(names(['db1', 'db3', 'db4']), 'db1, db3 and db4');
});

test('two requests at once with max_drained 1: the drive\'s own verdict is granted before a prediction, the other deferred', (t) => {
  // a asked first, on a prediction; b asked later, on the drive's verdict. Four members at CPU 0.3:
  // losing one puts the others at 0.3 + 0.3/3 = 0.4, well within 0.9.
  const members = [
    member('a', { request: request('aaaaaaaaaaaaaaaa', 'prediction', NOW - 120_000) }),
    member('b', { request: request('bbbbbbbbbbbbbbbb', 'drive', NOW - 10_000) }),
    member('c'),
    member('d'),
  ];
  const changes = decide(members);
  t.deepEqual(kinds(changes), ['granted b', 'deferred a']);
  t.deepEqual(change(changes, 'b')!.row, {
    host: 'b',
    cluster: CLUSTER,
    request: 'bbbbbbbbbbbbbbbb',
    state: 'granted',
    reason: "b's data disk is failing: drain granted",
    verdict: 'drive',
    decidedMs: NOW,
    leaseExpiresMs: NOW + LEASE,
    collector: COLLECTOR,
  });
  const deferred = change(changes, 'a')!.row;
  t.is(deferred.state, 'deferred');
  t.is(deferred.request, 'aaaaaaaaaaaaaaaa');
  t.is(deferred.leaseExpiresMs, undefined, 'a deferral has no lease');
  t.is(
    deferred.reason,
    "a's data disk is failing, but b is already out of cluster pg (b: drain granted) and it allows 1 host at a time (fleet.clusters.max_drained): replace it now, or wait until that host is back",
  );
  t.regex(deferred.reason, /\bb\b.*fleet\.clusters\.max_drained/);
});

test('two requests with the same verdict: the older one is granted; same age: by host name', (t) => {
  const older = decide([
    member('a', { request: request('aaaaaaaaaaaaaaaa', 'prediction', NOW - 10_000) }),
    member('b', { request: request('bbbbbbbbbbbbbbbb', 'prediction', NOW - 120_000) }),
    member('c'),
    member('d'),
  ]);
  t.deepEqual(kinds(older), ['granted b', 'deferred a']);
  const drives = decide([
    member('a', { request: request('aaaaaaaaaaaaaaaa', 'drive', NOW - 120_000) }),
    member('b', { request: request('bbbbbbbbbbbbbbbb', 'drive', NOW - 10_000) }),
    member('c'),
  ]);
  t.deepEqual(kinds(drives), ['granted a', 'deferred b']);
  const tie = decide([member('b', { request: request('bbbbbbbbbbbbbbbb', 'drive', NOW) }), member('a', { request: request('aaaaaaaaaaaaaaaa', 'drive', NOW) }), member('c')]);
  t.deepEqual(kinds(tie), ['granted a', 'deferred b']);
});

test('with room for two, two requests are both granted while the rest can carry the load', (t) => {
  const members = [member('a', { request: request('aaaaaaaaaaaaaaaa') }), member('b', { request: request('bbbbbbbbbbbbbbbb', 'prediction', NOW - 5_000) }), member('c'), member('d')];
  // a first (older): pool a, b, c, d; losing a: 0.3 + 0.3/3 = 0.4. Then b: pool b, c, d; 0.3 + 0.3/2 = 0.45.
  t.deepEqual(kinds(decide(members, [], { maxDrained: 2, maxUtilization: 0.9 })), ['granted a', 'granted b']);
});

test('capacity: a drain the others cannot carry is deferred, saying how full they would be', (t) => {
  // Three members at CPU 0.7; losing a: W = 2, each gains 0.7·1/2 = 0.35: 0.7 + 0.35 = 1.05 > 0.9.
  const members = [member('a', { cpu: 0.7, request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: 0.7 }), member('c', { cpu: 0.7 })];
  const changes = decide(members, [], { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(changes), ['deferred a']);
  const reason = changes[0]!.row.reason;
  t.true(reason.includes('would run at up to 105% of their CPU'), reason);
  t.is(reason, "a's data disk is failing, but b and c would run at up to 105% of their CPU without it (fleet.clusters.max_utilization 90%): replace it now or add capacity");

  // One member over: "its". Losing a (0.5): b 0.7 + 0.25 = 0.95 > 0.9, c 0.3 + 0.25 = 0.55.
  const one = decide([member('a', { cpu: 0.5, request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: 0.7 }), member('c', { cpu: 0.3 })]);
  t.is(one[0]!.row.reason, "a's data disk is failing, but b would run at 95% of its CPU without it (fleet.clusters.max_utilization 90%): replace it now or add capacity");

  // Within the limit: 0.5 + 0.25 = 0.75.
  t.deepEqual(kinds(decide([member('a', { cpu: 0.5, request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: 0.5 }), member('c', { cpu: 0.5 })])), ['granted a']);
});

test('capacity bound by connections: the reason names max_connections', (t) => {
  // Two members at 80 of 100 connections: losing a puts b at 160/100 = 160%, its CPU 0.2 + 0.2 = 0.4.
  const members = [
    member('a', { cpu: 0.2, connections: { used: 80, max: 100 }, request: request('aaaaaaaaaaaaaaaa') }),
    member('b', { cpu: 0.2, connections: { used: 80, max: 100 } }),
  ];
  const changes = decide(members);
  t.deepEqual(kinds(changes), ['deferred a']);
  t.is(changes[0]!.row.reason, "a's data disk is failing, but b would run at 160% of its max_connections without it (fleet.clusters.max_utilization 90%): replace it now or add capacity");
});

test('an unknown CPU defers: whether the others can carry the load is unknown', (t) => {
  const changes = decide([member('a', { request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: null }), member('c')]);
  t.deepEqual(kinds(changes), ['deferred a']);
  t.is(changes[0]!.row.reason, "a's data disk is failing, but b reports no CPU utilisation, so whether the others can carry its load is unknown: replace it now, or fix their reports");
});

const outCases: Array<{ title: string; b: Member; why: string }> = [
  { title: 'down', b: member('b', { state: 'down' }), why: 'b: a database does not answer' },
  { title: 'offline (agent offline)', b: member('b', { offline: 'agent offline' }), why: 'b: its agent is offline' },
  { title: 'offline (no report)', b: member('b', { offline: 'no report' }), why: 'b: it has stopped reporting' },
  { title: 'under an operator drain', b: member('b', { state: 'drain', decidedBy: 'operator' }), why: 'b: an operator drain' },
  { title: 'drained by harbinger (not for a disk)', b: member('b', { state: 'drain' }), why: 'b: drained' },
];
for (const { title, b, why } of outCases) {
  test(`a member ${title} counts against max_drained`, (t) => {
    const members = [member('a', { request: request('aaaaaaaaaaaaaaaa') }), b, member('c'), member('d')];
    const changes = decide(members);
    t.deepEqual(kinds(changes), ['deferred a']);
    t.true(changes[0]!.row.reason.includes(`b is already out of cluster pg (${why})`), changes[0]!.row.reason);
    // With room for two, it is granted: b is out of the pool (not in the figure), a drains: c and d carry 0.3 + 0.3/2.
    t.deepEqual(kinds(decide(members, [], { maxDrained: 2, maxUtilization: 0.9 })), ['granted a']);
  });
}

test('members out of the pool are not in the capacity figure', (t) => {
  // a, b, c at 0.6; d down at 0 CPU. Were d counted, losing a would give 0.6 + 0.6/3 = 0.8; without it 0.6 + 0.3 = 0.9 (still within).
  // With c at 0.7: c would be at 0.7 + 0.3 = 1.0 > 0.9: deferred, d not helping.
  const changes = decide([member('a', { cpu: 0.6, request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: 0.6 }), member('c', { cpu: 0.7 }), member('d', { state: 'down', cpu: 0 })], [], {
    maxDrained: 2,
    maxUtilization: 0.9,
  });
  t.deepEqual(kinds(changes), ['deferred a']);
  t.regex(changes[0]!.row.reason, /c would run at 100% of its CPU/);
});

test('ClusterView: no report received for more than 3 report intervals, by the collector\'s clock, makes the member offline; the agent\'s own clock does not count', (t) => {
  const view = new ClusterView();
  t.deepEqual(view.setReport('b', report('b'), NOW - 91_000), [CLUSTER], 'received 91 s ago: 3 × 30 s missed');
  view.setReport('a', report('a', { request: request('aaaaaaaaaaaaaaaa') }), NOW);
  view.setReport('c', report('c'), NOW - 90_000);
  view.setReport('d', report('d', { timeMs: NOW - 3_600_000 }), NOW);
  const members = view.members(CLUSTER, NOW);
  t.deepEqual(members.map((m) => m.host), ['a', 'b', 'c', 'd'], 'sorted by host');
  const b = members.find((m) => m.host === 'b')!;
  t.is(b.state, 'offline');
  t.is(b.offline, 'no report');
  t.is(members.find((m) => m.host === 'c')!.state, 'up', 'exactly 3 intervals: not yet offline');
  t.is(members.find((m) => m.host === 'd')!.state, 'up', 'dated an hour ago by a clock that is off, but received now: not silent');
  t.is(members.find((m) => m.host === 'd')!.receivedMs, NOW);

  const changes = decide(members);
  t.deepEqual(kinds(changes), ['deferred a']);
  t.true(changes[0]!.row.reason.includes('b: it has stopped reporting'));

  t.is(view.setOnline('c', false), CLUSTER);
  const c = view.members(CLUSTER, NOW).find((m) => m.host === 'c')!;
  t.is(c.state, 'offline');
  t.is(c.offline, 'agent offline');
  view.setOnline('c', true);
  t.is(view.members(CLUSTER, NOW).find((m) => m.host === 'c')!.state, 'up');
});

test('ClusterView: cluster membership changes, clear and forget', (t) => {
  const view = new ClusterView();
  t.deepEqual(view.setReport('a', report('a'), NOW), [CLUSTER]);
  t.deepEqual(view.setReport('a', report('a', { cluster: 'mysql' }), NOW), [CLUSTER, 'mysql'], 'the old cluster and the new one');
  t.deepEqual(view.members(CLUSTER, NOW), []);
  t.is(view.members('mysql', NOW)[0]!.cluster, 'mysql');
  t.deepEqual(view.setReport('b', report('b', { cluster: null }), NOW), []);
  t.deepEqual(view.clusters(), ['mysql']);
  t.deepEqual(view.setReport('a', undefined, NOW), ['mysql']);
  t.deepEqual(view.clusters(), []);
  view.setReport('c', report('c'), NOW);
  t.is(view.forget('c'), CLUSTER);
  t.is(view.report('c'), undefined);
  t.is(view.setOnline('zz', false), undefined);
});

test('poolMember sums the connections of the databases that read both figures', (t) => {
  const m = member('a', { capacity: 2, cpu: 0.4 });
  m.report.load.databases = [
    { target: 'pg', connections: 10, maxConnections: 100 },
    { target: 'pg2', connections: 5, maxConnections: 50 },
    { target: 'pg3', connections: 7 },
  ];
  t.deepEqual(poolMember(m), { host: 'a', capacity: 2, cpu: 0.4, connections: { used: 15, max: 150 } });
  t.deepEqual(poolMember(member('b', { cpu: null })), { host: 'b', capacity: 1, cpu: undefined });
});

test('release: the request is gone, replaced by a new id, or the host left the cluster', (t) => {
  const row = granted('a', 'aaaaaaaaaaaaaaaa');
  const gone = decide([member('a'), member('b'), member('c')], [row]);
  t.deepEqual(kinds(gone), ['released a']);
  t.like(gone[0], { kind: 'released', row, why: 'the host no longer asks to drain (the disk was replaced, or an operator took over)' });

  const replaced = decide([member('a', { request: request('1111111111111111') }), member('b'), member('c'), member('d')], [row]);
  t.deepEqual(kinds(replaced), ['released a', 'granted a'], 'the old answer goes, the new request is decided at once');
  t.like(replaced[0], { kind: 'released', why: 'a new request replaces it' });
  t.is(replaced[0]!.row.request, 'aaaaaaaaaaaaaaaa');
  t.is(replaced[1]!.row.request, '1111111111111111');
  t.is((replaced[1] as { previous?: GrantRow }).previous, undefined, 'the released row is no previous answer');

  const x: GrantRow = { host: 'x', cluster: CLUSTER, request: 'xxxxxxxxxxxxxxxx', state: 'deferred', reason: 'r', verdict: 'prediction', decidedMs: NOW, collector: COLLECTOR };
  const left = decide([member('b'), member('c')], [row, x], ONE, NOW, (host) => `${host} is no longer a member of pg`);
  t.deepEqual(kinds(left), ['released a', 'released x']);
  t.like(left[0], { why: 'a is no longer a member of pg' });
  t.like(left[1], { why: 'x is no longer a member of pg' });
});

test('a stored answer of a host this collector has no report of stands, and its grant counts against the budget', (t) => {
  // A collector just started, or its copy of a's report is still on the way: not evidence that a left.
  const changes = decide([member('b', { request: request('bbbbbbbbbbbbbbbb') }), member('c'), member('d')], [granted('a', 'aaaaaaaaaaaaaaaa')]);
  t.deepEqual(kinds(changes), ['deferred b']);
  t.regex(changes[0]!.row.reason, /a is already out of cluster pg \(a: drain granted\)/);
});

test('a release frees the budget for another request in the same decision', (t) => {
  const changes = decide([member('a'), member('b', { request: request('bbbbbbbbbbbbbbbb') }), member('c'), member('d')], [granted('a', 'aaaaaaaaaaaaaaaa')]);
  t.deepEqual(kinds(changes), ['released a', 'granted b']);
});

test('lease: a granted row of an offline member is kept until its lease runs out, then released; it stays out of the pool', (t) => {
  const row = granted('a', 'aaaaaaaaaaaaaaaa', { decidedMs: NOW - 60_000, leaseExpiresMs: NOW + 60_000 });
  const members = (nowOffline: Member['offline']) => [
    member('a', { offline: nowOffline, request: request('aaaaaaaaaaaaaaaa') }),
    member('b', { request: request('bbbbbbbbbbbbbbbb') }),
    member('c'),
    member('d'),
  ];
  const kept = decide(members('agent offline'), [row]);
  t.deepEqual(kinds(kept), ['deferred b'], 'no renewal while offline, no release before the lease ends');
  t.true(kept[0]!.row.reason.includes('a: its agent is offline'));

  const atExpiry = decide(members('agent offline'), [row], ONE, NOW + 60_000);
  t.deepEqual(kinds(atExpiry), ['released a', 'deferred b']);
  t.like(atExpiry[0], { why: 'the lease ran out: a is offline (it stays out of the pool while it is gone)' });
  t.true(atExpiry[1]!.row.reason.includes('a: its agent is offline'), 'released, yet still out of the pool while offline');

  const silent = decide(members('no report'), [row], ONE, NOW + 120_000);
  t.like(silent[0], { kind: 'released', why: 'the lease ran out: a has stopped reporting (it stays out of the pool while it is gone)' });
});

test('renewal: a granted lease is extended once less than half of it is left, not at every report', (t) => {
  const fresh = granted('a', 'aaaaaaaaaaaaaaaa', { decidedMs: NOW, leaseExpiresMs: NOW + LEASE });
  const members = [member('a', { state: 'drain', request: request('aaaaaaaaaaaaaaaa') }), member('b'), member('c')];
  t.deepEqual(decide(members, [fresh]), [], 'a whole lease left: nothing written');
  const half = { ...fresh, leaseExpiresMs: NOW + LEASE / 2 };
  t.deepEqual(decide(members, [half]), [], 'exactly half left: not yet');
  const less = { ...fresh, leaseExpiresMs: NOW + LEASE / 2 - 1 };
  const renewed = decide(members, [less]);
  t.deepEqual(kinds(renewed), ['renewed a']);
  t.deepEqual(renewed[0], { kind: 'renewed', row: { ...less, leaseExpiresMs: NOW + LEASE }, previous: less });
  // Expired while the host is online (a collector that was away): renewed, not released.
  const expired = { ...fresh, leaseExpiresMs: NOW - 1 };
  t.deepEqual(kinds(decide(members, [expired])), ['renewed a']);
  // Dated by the later of now and the report's arrival.
  const late = decide([{ ...members[0]!, receivedMs: NOW + 5_000 }, members[1]!, members[2]!], [less]);
  t.is(late[0]!.row.leaseExpiresMs, NOW + 5_000 + LEASE);
  // A granted host still up (about to drain) is renewed too, and counts as out.
  const up = decide([member('a', { request: request('aaaaaaaaaaaaaaaa') }), member('b', { request: request('bbbbbbbbbbbbbbbb') }), member('c'), member('d')], [less]);
  t.deepEqual(kinds(up), ['renewed a', 'deferred b']);
  t.true(up[1]!.row.reason.includes('a: drain granted'));
});

test('a host found drained by harbinger with a request and no row is recorded, outside the budget', (t) => {
  const members = [member('a', { state: 'drain', request: request('aaaaaaaaaaaaaaaa', 'drive') }), member('b', { request: request('bbbbbbbbbbbbbbbb') }), member('c'), member('d')];
  const changes = decide(members, [], { maxDrained: 0, maxUtilization: 0.9 });
  t.deepEqual(kinds(changes), ['recorded a', 'deferred b'], 'recorded even with max_drained 0');
  t.deepEqual(changes[0]!.row, {
    host: 'a',
    cluster: CLUSTER,
    request: 'aaaaaaaaaaaaaaaa',
    state: 'granted',
    reason: 'a had drained already: recorded against the budget',
    verdict: 'drive',
    decidedMs: NOW,
    leaseExpiresMs: NOW + LEASE,
    collector: COLLECTOR,
  });
  const budget1 = decide(members);
  t.deepEqual(kinds(budget1), ['recorded a', 'deferred b']);
  // Named as the next decision will name it, from the recorded (granted) row.
  t.true(budget1[1]!.row.reason.includes('a is already out of cluster pg (a: drain granted)'), budget1[1]!.row.reason);

  // Recorded once: with the rows stored, the next decision writes nothing, neither for a nor b's unchanged deferral.
  const rows = budget1.map((c) => c.row);
  t.deepEqual(decide(members, rows), []);
  t.deepEqual(decide(members, rows, ONE, NOW + 60_000), []);

  // Over a deferred row: recorded, with the deferral as the previous answer.
  const deferred: GrantRow = { host: 'a', cluster: CLUSTER, request: 'aaaaaaaaaaaaaaaa', state: 'deferred', reason: 'earlier', verdict: 'drive', decidedMs: NOW - 1000, collector: COLLECTOR };
  const over = decide([members[0]!, member('c'), member('d')], [deferred]);
  t.deepEqual(kinds(over), ['recorded a']);
  t.deepEqual((over[0] as { previous?: GrantRow }).previous, deferred);

  // Not for an operator's drain, nor without a request.
  t.deepEqual(decide([member('a', { state: 'drain', decidedBy: 'operator', request: request('aaaaaaaaaaaaaaaa') }), member('c')]), []);
  t.deepEqual(decide([member('a', { state: 'drain' }), member('c')]), []);
});

test('a deferred row is not written again while its reason is unchanged; a new reason is', (t) => {
  const members = [member('a', { cpu: 0.7, request: request('aaaaaaaaaaaaaaaa') }), member('b', { cpu: 0.7 }), member('c', { cpu: 0.7 })];
  const first = decide(members, [], { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(first), ['deferred a']);
  const rows = first.map((c) => c.row);
  t.deepEqual(decide(members, rows, { maxDrained: 2, maxUtilization: 0.9 }, NOW + 60_000), [], 'same reason a minute later: nothing');
  // b busier: a different figure, a new reason.
  const busier = [members[0]!, member('b', { cpu: 0.8 }), members[2]!];
  const second = decide(busier, rows, { maxDrained: 2, maxUtilization: 0.9 }, NOW + 60_000);
  t.deepEqual(kinds(second), ['deferred a']);
  t.like(second[0], { kind: 'deferred', previous: rows[0] });
  t.regex(second[0]!.row.reason, /up to 115%/, 'b: 0.8 + 0.35 = 1.15');
  t.is(second[0]!.row.decidedMs, NOW, 'a new reason for the same deferral keeps the time it was first deferred');
  // Room again: granted over the deferral.
  const calm = [member('a', { cpu: 0.3, request: request('aaaaaaaaaaaaaaaa') }), member('b'), member('c')];
  const third = decide(calm, rows, { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(third), ['granted a']);
  t.like(third[0], { previous: rows[0] });
});

test('max_drained 0: every request is deferred', (t) => {
  const changes = decide([member('a', { request: request('aaaaaaaaaaaaaaaa', 'drive') }), member('b', { request: request('bbbbbbbbbbbbbbbb') }), member('c'), member('d')], [], {
    maxDrained: 0,
    maxUtilization: 0.9,
  });
  t.deepEqual(kinds(changes), ['deferred a', 'deferred b']);
  t.is(changes[0]!.row.reason, "a's data disk is failing, but cluster pg allows no drain (fleet.clusters.max_drained 0): replace it now, or raise the budget");
  t.is(changes[1]!.row.reason, "b's data disk is failing, but cluster pg allows no drain (fleet.clusters.max_drained 0): replace it now, or raise the budget");
});

test('the only member left in the pool is deferred', (t) => {
  const alone = decide([member('a', { request: request('aaaaaaaaaaaaaaaa', 'drive', NOW, 'degraded') })]);
  t.deepEqual(kinds(alone), ['deferred a']);
  t.is(alone[0]!.row.reason, "a's data disk is degraded, but it is the only member of cluster pg left in the pool: replace it now or add capacity");
  // Two members, the other down, room for two: a is all that is left.
  const last = decide([member('a', { request: request('aaaaaaaaaaaaaaaa') }), member('b', { state: 'down' })], [], { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(last), ['deferred a']);
  t.regex(last[0]!.row.reason, /the only member of cluster pg left in the pool/);
});

test('members that are not up are never candidates, and a granted host is not granted again', (t) => {
  t.deepEqual(decide([member('a', { state: 'down', request: request('aaaaaaaaaaaaaaaa') }), member('b'), member('c')]), []);
  t.deepEqual(decide([member('a', { offline: 'agent offline', request: request('aaaaaaaaaaaaaaaa') }), member('b'), member('c')]), []);
  const row = granted('a', 'aaaaaaaaaaaaaaaa', { decidedMs: NOW, leaseExpiresMs: NOW + LEASE });
  t.deepEqual(decide([member('a', { request: request('aaaaaaaaaaaaaaaa') }), member('b'), member('c')], [row]), []);
});

test('a member granted but still serving counts as leaving: its load moves with the candidate\'s', (t) => {
  // Four members at 50%, two may drain. a is granted but not drained yet; b asks. Without a, b's
  // loss alone would put c and d at 0.5 + 0.5/3 ≈ 67%; with a leaving too, (0.5 + 0.5) / 2 moves
  // onto each: 100%.
  const members = [
    member('a', { cpu: 0.5, request: request('aaaaaaaaaaaaaaaa') }),
    member('b', { cpu: 0.5, request: request('bbbbbbbbbbbbbbbb') }),
    member('c', { cpu: 0.5 }),
    member('d', { cpu: 0.5 }),
  ];
  const changes = decide(members, [granted('a', 'aaaaaaaaaaaaaaaa')], { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(changes), ['deferred b']);
  t.regex(changes[0]!.row.reason, /c and d would run at up to 100% of their CPU/);
  // Once a has drained, its load is on the others' own figures (b, c, d at 2/3), and b is weighed
  // on its own: 2/3 + (2/3)/2 = 100% still, deferred for the same reason.
  const third = 2 / 3;
  const drained = [
    member('a', { state: 'drain', cpu: 0.02, request: request('aaaaaaaaaaaaaaaa') }),
    member('b', { cpu: third, request: request('bbbbbbbbbbbbbbbb') }),
    member('c', { cpu: third }),
    member('d', { cpu: third }),
  ];
  const after = decide(drained, [granted('a', 'aaaaaaaaaaaaaaaa')], { maxDrained: 2, maxUtilization: 0.9 });
  t.deepEqual(kinds(after), ['deferred b']);
  t.regex(after[0]!.row.reason, /c and d would run at up to 100% of their CPU/);
});
