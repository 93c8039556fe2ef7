import { budgetOf, type ClusterSettings } from '../settings.js';
import type { GrantRow } from './grants.js';
import { failoverHeadroom, type Headroom } from './headroom.js';
import { MEMBER_STATES, poolMember, type Member, type MemberState } from './members.js';

export interface ClusterSnapshot {
  cluster: string;
  maxDrained: number;
  maxUtilization: number;
  members: Member[];
  counts: Record<MemberState, number>;
  /** Members out of the pool: drained, down, offline, or granted and about to drain. */
  drained: number;
  grants: GrantRow[];
  /** The failover figure over the members in the pool (up and not granted). */
  headroom: Headroom;
}

/** Every cluster as the API, the page and the metrics show it. */
export function clusterSnapshots(clusters: readonly string[], membersOf: (cluster: string) => Member[], grants: readonly GrantRow[], settings: ClusterSettings): ClusterSnapshot[] {
  return clusters.map((cluster) => {
    const members = membersOf(cluster);
    const rows = grants.filter((g) => g.cluster === cluster);
    const granted = new Set(rows.filter((g) => g.state === 'granted').map((g) => g.host));
    const counts = Object.fromEntries(MEMBER_STATES.map((s) => [s, 0])) as Record<MemberState, number>;
    for (const m of members) counts[m.state]++;
    const pool = members.filter((m) => m.state === 'up' && !granted.has(m.host));
    const budget = budgetOf(settings, cluster);
    return {
      cluster,
      maxDrained: budget.maxDrained,
      maxUtilization: budget.maxUtilization,
      members,
      counts,
      drained: members.length - pool.length,
      grants: rows,
      headroom: failoverHeadroom(pool.map(poolMember)),
    };
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

/** GET /api/clusters. */
export function clustersJson(snapshots: readonly ClusterSnapshot[], nowMs: number): object {
  return {
    generated: iso(nowMs),
    clusters: snapshots.map((c) => {
      const grantOf = new Map(c.grants.map((g) => [g.host, g]));
      const worst = c.headroom.worst;
      return {
        cluster: c.cluster,
        max_drained: c.maxDrained,
        max_utilization: c.maxUtilization,
        members: c.members.map((m) => {
          const r = m.report;
          const g = grantOf.get(m.host);
          return {
            host: m.host,
            state: m.state,
            offline_reason: m.offline ?? null,
            weight: r.weight,
            capacity: r.capacity,
            decided_by: r.decidedBy,
            reasons: r.reasons,
            report_time: iso(r.timeMs),
            load: {
              cpu_utilization: r.load.cpuUtilization ?? null,
              pressure: r.load.pressure ?? null,
              databases: r.load.databases.map((d) => ({
                target: d.target,
                latency_seconds: d.latencySeconds ?? null,
                statements_per_second: d.statementsPerSecond ?? null,
                connections: d.connections ?? null,
                max_connections: d.maxConnections ?? null,
              })),
            },
            request: r.request ? { id: r.request.id, since: iso(r.request.sinceMs), verdict: r.request.verdict, level: r.request.level, reason: r.request.reason, disks: r.request.disks } : null,
            answer: g ? { state: g.state, reason: g.reason, decided: iso(g.decidedMs), lease_expires: g.leaseExpiresMs === undefined ? null : iso(g.leaseExpiresMs), collector: g.collector } : null,
          };
        }),
        counts: c.counts,
        drained: c.drained,
        granted: c.grants.filter((g) => g.state === 'granted').map((g) => g.host),
        deferred: c.grants.filter((g) => g.state === 'deferred').map((g) => ({ host: g.host, reason: g.reason, since: iso(g.decidedMs) })),
        failover: {
          utilization_ratio: finite(c.headroom.ratio),
          // Infinity: no member would be left; null with unknown: a member reports no CPU.
          no_member_left: c.headroom.ratio === Infinity,
          lost: worst?.lost ?? null,
          members: (worst?.members ?? []).map((p) => ({ host: p.host, cpu_utilization: finite(p.cpu), connections_ratio: finite(p.connections), ratio: finite(p.ratio) })),
          unknown: worst?.unknown ?? [],
        },
      };
    }),
  };
}
