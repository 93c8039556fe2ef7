import type { AnswerState, DrainVerdict } from '../../protocol/balance-report.js';
import type { ClusterBudget } from '../settings.js';
import { projectLoss } from './headroom.js';
import { poolMember, type Member } from './members.js';

/** A stored answer to one host's drain request (table drain_grants). */
export interface GrantRow {
  host: string;
  cluster: string;
  request: string;
  state: AnswerState;
  reason: string;
  verdict: DrainVerdict;
  decidedMs: number;
  /** Granted only. */
  leaseExpiresMs?: number;
  collector: string;
}

/**
 * What one decision does to the stored answers: `granted`, `deferred` (new or with a new reason),
 * `renewed` (a granted lease extended by a report), `released` (the row goes), and `recorded` (a
 * host found drained already, without a row: a fact, stored as granted outside the budget).
 */
export type GrantChange =
  | { kind: 'granted' | 'deferred' | 'renewed' | 'recorded'; row: GrantRow; previous?: GrantRow }
  | { kind: 'released'; row: GrantRow; why: string };

export interface GrantInput {
  cluster: string;
  members: readonly Member[];
  /** Why a host with a stored answer is known to have left the cluster; undefined: not known to. */
  gone: (host: string) => string | undefined;
  current: readonly GrantRow[];
  budget: ClusterBudget;
  leaseMs: number;
  nowMs: number;
  collector: string;
}

const pct = (ratio: number) => `${Math.round(ratio * 100)}%`;

/** "db1", "db1 and db3", "db1, db3 and db4" */
export function names(hosts: readonly string[]): string {
  if (hosts.length <= 1) return hosts.join('');
  return `${hosts.slice(0, -1).join(', ')} and ${hosts[hosts.length - 1]}`;
}

/** Why a member is out of the pool, for the deferral's reason. */
function outWhy(m: Member | undefined, row: GrantRow | undefined): string {
  if (m?.state === 'offline') return m.offline === 'agent offline' ? 'its agent is offline' : 'it has stopped reporting';
  if (m?.state === 'down') return 'a database does not answer';
  if (m?.state === 'drain' && m.report.decidedBy === 'operator') return 'an operator drain';
  if (row?.state === 'granted') return 'drain granted';
  return 'drained';
}

/**
 * The cluster's grants, decided again from its members' latest reports. Hosts out of the pool
 * (drained, down, offline, or holding a grant) count against `max_drained`; a request is granted
 * while the budget has room and every member left in the pool could carry the load
 * (`max_utilization`), the drive's own verdicts first, then the oldest request. Pure: the store
 * runs it inside the transaction that locks the cluster.
 */
export function decideGrants(input: GrantInput): GrantChange[] {
  const { cluster, members, budget, leaseMs, nowMs, collector } = input;
  const byHost = new Map(members.map((m) => [m.host, m]));
  const changes: GrantChange[] = [];
  const rows = new Map<string, GrantRow>();

  const unseen = new Set<string>();
  for (const row of input.current) {
    const m = byHost.get(row.host);
    if (!m) {
      const gone = input.gone(row.host);
      if (gone) {
        changes.push({ kind: 'released', row, why: gone });
        continue;
      }
      // No report of this host here yet: its stored answer stands, and a grant counts as out.
      rows.set(row.host, row);
      unseen.add(row.host);
      continue;
    }
    const request = m.report.request;
    if (request?.id !== row.request) {
      changes.push({ kind: 'released', row, why: request ? 'a new request replaces it' : 'the host no longer asks to drain (the disk was replaced, or an operator took over)' });
      continue;
    }
    if (row.state === 'granted' && m.state === 'offline' && (row.leaseExpiresMs ?? 0) <= nowMs) {
      changes.push({ kind: 'released', row, why: `the lease ran out: ${row.host} ${m.offline === 'agent offline' ? 'is offline' : 'has stopped reporting'} (it stays out of the pool while it is gone)` });
      continue;
    }
    // Each report renews the lease; it is written once half of it has run, not at every report.
    if (row.state === 'granted' && m.state !== 'offline' && (row.leaseExpiresMs ?? 0) - nowMs < leaseMs / 2) {
      const renewed: GrantRow = { ...row, leaseExpiresMs: Math.max(nowMs, m.receivedMs) + leaseMs };
      changes.push({ kind: 'renewed', row: renewed, previous: row });
      rows.set(row.host, renewed);
      continue;
    }
    rows.set(row.host, row);
  }

  const out = new Map<string, string>();
  for (const host of unseen) if (rows.get(host)?.state === 'granted') out.set(host, 'drain granted');
  for (const m of members) {
    let row = rows.get(m.host);
    // Drained by harbinger for its disk without a grant on record (the drive's own verdict while
    // no collector answered, or a grant whose row is gone): a fact, recorded so it is released in turn.
    const request = m.report.request;
    if (m.state === 'drain' && m.report.decidedBy === 'harbinger' && request && row?.state !== 'granted') {
      const recorded: GrantRow = { host: m.host, cluster, request: request.id, state: 'granted', reason: `${m.host} had drained already: recorded against the budget`, verdict: request.verdict, decidedMs: nowMs, leaseExpiresMs: nowMs + leaseMs, collector };
      changes.push({ kind: 'recorded', row: recorded, ...(row ? { previous: row } : {}) });
      rows.set(m.host, recorded);
      row = recorded;
    }
    // Why it is out, from the row as it stands after recording: the same words in this decision
    // as in the next (which reads the recorded row), so a deferral naming it is not written twice.
    if (m.state !== 'up' || row?.state === 'granted') out.set(m.host, outWhy(m, row));
  }

  const candidates = members
    .filter((m) => m.state === 'up' && m.report.request !== undefined && rows.get(m.host)?.state !== 'granted')
    .sort((a, b) => {
      const ra = a.report.request!;
      const rb = b.report.request!;
      if (ra.verdict !== rb.verdict) return ra.verdict === 'drive' ? -1 : 1;
      return ra.sinceMs - rb.sinceMs || (a.host < b.host ? -1 : 1);
    });

  for (const m of candidates) {
    const request = m.report.request!;
    const previous = rows.get(m.host);
    const deferral = deferralReason(m, members, out, budget, cluster);
    if (deferral === undefined) {
      const row: GrantRow = { host: m.host, cluster, request: request.id, state: 'granted', reason: `${m.host}'s data disk is ${request.level}: drain granted`, verdict: request.verdict, decidedMs: nowMs, leaseExpiresMs: nowMs + leaseMs, collector };
      changes.push({ kind: 'granted', row, ...(previous ? { previous } : {}) });
      rows.set(m.host, row);
      out.set(m.host, 'drain granted');
      continue;
    }
    if (previous?.state === 'deferred' && previous.reason === deferral) continue;
    // A new reason for the same deferral (the loads moved) keeps the time it was first deferred.
    const since = previous?.state === 'deferred' && previous.request === request.id ? previous.decidedMs : nowMs;
    const row: GrantRow = { host: m.host, cluster, request: request.id, state: 'deferred', reason: deferral, verdict: request.verdict, decidedMs: since, collector };
    changes.push({ kind: 'deferred', row, ...(previous ? { previous } : {}) });
    rows.set(m.host, row);
  }
  return changes;
}

/** Why this member may not drain now, or undefined when it may. */
function deferralReason(m: Member, members: readonly Member[], out: ReadonlyMap<string, string>, budget: ClusterBudget, cluster: string): string | undefined {
  const request = m.report.request!;
  const what = `${m.host}'s data disk is ${request.level}`;
  if (out.size + 1 > budget.maxDrained) {
    const gone = [...out.entries()].map(([host, why]) => `${host}: ${why}`);
    const allowed = budget.maxDrained === 1 ? '1 host at a time' : `${budget.maxDrained} hosts at a time`;
    return gone.length === 0
      ? `${what}, but cluster ${cluster} allows no drain (fleet.clusters.max_drained 0): replace it now, or raise the budget`
      : `${what}, but ${names([...out.keys()])} ${out.size === 1 ? 'is' : 'are'} already out of cluster ${cluster} (${gone.join('; ')}) and it allows ${allowed} (fleet.clusters.max_drained): replace it now, or wait until ${out.size === 1 ? 'that host is' : 'they are'} back`;
  }
  const pool = members.filter((x) => x.state === 'up' && !out.has(x.host));
  if (pool.length <= 1) return `${what}, but it is the only member of cluster ${cluster} left in the pool: replace it now or add capacity`;
  // Granted but still serving (its agent has not drained yet): its load is about to move as well.
  const leaving = members.filter((x) => x.state === 'up' && out.has(x.host));
  const projection = projectLoss([...pool, ...leaving].map(poolMember), m.host, leaving.map((x) => x.host));
  if (projection.ratio === undefined) {
    return `${what}, but ${names(projection.unknown)} report${projection.unknown.length === 1 ? 's' : ''} no CPU utilisation, so whether the others can carry its load is unknown: replace it now, or fix their reports`;
  }
  if (projection.ratio <= budget.maxUtilization) return undefined;
  const over = projection.members.filter((p) => (p.ratio ?? 0) > budget.maxUtilization);
  const connectionsBound = over.every((p) => (p.connections ?? 0) > (p.cpu ?? 0));
  const resource = connectionsBound ? `max_connections` : 'CPU';
  return `${what}, but ${names(over.map((p) => p.host))} would run at ${over.length === 1 ? '' : 'up to '}${pct(projection.ratio)} of ${over.length === 1 ? 'its' : 'their'} ${resource} without it (fleet.clusters.max_utilization ${pct(budget.maxUtilization)}): replace it now or add capacity`;
}
