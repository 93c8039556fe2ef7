import type { BalanceReport } from '../../protocol/balance-report.js';
import type { PoolMember } from './headroom.js';

/** A member as the collector sees it: serving (up), drained, down, or offline (its agent is gone or silent). */
export type MemberState = 'up' | 'drain' | 'down' | 'offline';
export const MEMBER_STATES: readonly MemberState[] = ['up', 'drain', 'down', 'offline'];

/** Cleared hosts remembered (a fleet's worth); a grant of one forgotten stays until its host reports again. */
const MAX_CLEARED = 20_000;
/** Reports missed before a member counts as offline (out of the pool). */
const MISSED_REPORTS = 3;

export interface Member {
  host: string;
  cluster: string;
  state: MemberState;
  report: BalanceReport;
  receivedMs: number;
  /** Why it is offline, when it is. */
  offline?: 'agent offline' | 'no report';
}

/**
 * Every host's latest balance report and whether its agent is online, in memory: the reports are
 * retained at the broker, so every collector (each with a plain subscription) holds them all and
 * gets them again after a restart. Only the grants need the shared store.
 */
export class ClusterView {
  private readonly reports = new Map<string, { report: BalanceReport; receivedMs: number }>();
  private readonly offline = new Set<string>();
  /** Hosts whose retained report was cleared (decommissioned): their grants go. */
  private readonly cleared = new Set<string>();

  /** Returns the clusters whose membership or members changed (the old one and the new one). */
  setReport(host: string, report: BalanceReport | undefined, receivedMs: number): string[] {
    const before = this.reports.get(host)?.report.cluster;
    if (report) {
      this.reports.set(host, { report, receivedMs });
      this.cleared.delete(host);
    } else {
      this.reports.delete(host);
      this.markCleared(host);
    }
    return [...new Set([before, report?.cluster].filter((c): c is string => c !== undefined))];
  }

  /** Clears come from the broker, so the set is bounded: the oldest are forgotten first. */
  private markCleared(host: string): void {
    this.cleared.delete(host);
    this.cleared.add(host);
    if (this.cleared.size > MAX_CLEARED) this.cleared.delete(this.cleared.values().next().value as string);
  }

  /**
   * Whether this collector knows a host is no longer in `cluster`: its report names another
   * cluster or none, or was cleared. A host it has no report of is not known to be gone (a
   * collector that just started, or one whose copy of the report is still on its way).
   */
  gone(host: string, cluster: string): string | undefined {
    if (this.cleared.has(host)) return `${host}'s balance report was cleared`;
    const report = this.reports.get(host)?.report;
    if (report && report.cluster !== cluster) return `${host} is no longer a member of ${cluster}`;
    return undefined;
  }

  /** The agent's retained status; returns its cluster, if it has one. */
  setOnline(host: string, online: boolean): string | undefined {
    if (online) this.offline.delete(host);
    else this.offline.add(host);
    return this.reports.get(host)?.report.cluster;
  }

  forget(host: string): string | undefined {
    this.offline.delete(host);
    const cluster = this.reports.get(host)?.report.cluster;
    this.reports.delete(host);
    this.markCleared(host);
    return cluster;
  }

  report(host: string): BalanceReport | undefined {
    return this.reports.get(host)?.report;
  }

  clusters(): string[] {
    const names = new Set<string>();
    for (const { report } of this.reports.values()) if (report.cluster !== undefined) names.add(report.cluster);
    return [...names].sort();
  }

  members(cluster: string, nowMs: number): Member[] {
    const out: Member[] = [];
    for (const [host, { report, receivedMs }] of this.reports) {
      if (report.cluster !== cluster) continue;
      // The collector's own clock, not the agent's: a host whose clock is off is not silent. A host
      // gone for good is offline by its retained status (the broker sends its Will).
      const silent = nowMs - receivedMs > MISSED_REPORTS * report.reportIntervalSeconds * 1000;
      const offline = this.offline.has(host) ? 'agent offline' : silent ? 'no report' : undefined;
      out.push({ host, cluster, state: offline ? 'offline' : report.state, report, receivedMs, ...(offline ? { offline } : {}) });
    }
    return out.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  }
}

/** A member's load as the failover figure weighs it. */
export function poolMember(m: Member): PoolMember {
  const load = m.report.load;
  let used = 0;
  let max = 0;
  for (const db of load.databases) {
    if (db.connections === undefined || db.maxConnections === undefined) continue;
    used += db.connections;
    max += db.maxConnections;
  }
  return { host: m.host, capacity: m.report.capacity, cpu: load.cpuUtilization, ...(max > 0 ? { connections: { used, max } } : {}) };
}
