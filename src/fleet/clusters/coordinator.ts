import type { Logger } from '../../logger.js';
import type { BalanceReport } from '../../protocol/balance-report.js';
import { drainAnswerJson, grantTopic } from '../../protocol/drain-grant.js';
import { budgetOf, type ClusterSettings } from '../settings.js';
import type { FleetStore } from '../store.js';
import { decideGrants, type GrantChange, type GrantRow } from './grants.js';
import { ClusterView } from './members.js';
import { clusterSnapshots, type ClusterSnapshot } from './snapshot.js';

export interface CoordinatorDeps {
  store: FleetStore;
  logger: Logger;
  topicRoot: string;
  /** This collector's MQTT client id: who answered. */
  collector: string;
  /** Publishes a retained message ('' clears it); dropped while disconnected (the next report repairs it). */
  publish: (topic: string, payload: string) => void;
  now: () => number;
  /** How long after its first connection the collector only listens (default 5 s). */
  graceMs?: number;
}

/**
 * After the first connection the retained reports of every host arrive in a burst; until they
 * are in, this collector's view of a cluster is partial, and a budget counted on it could miss a
 * member that is down or drained. It answers no request until then (the hosts wait, well inside
 * balance.grant_timeout).
 */
const GRACE_MS = 5000;

/**
 * The collector's side of cluster-aware balancing. Every balance report (and every change of an
 * agent's status) decides its cluster's grants again, in the store's transaction that locks the
 * cluster; each grant, deferral and release is logged once, by the collector that made it; the
 * answer is published retained to `<root>/<host>/grant`. A host whose report shows another answer
 * than the stored one is sent the stored one again, so a collector that failed between its commit
 * and its publish, or a broker that lost the message, is repaired by the next report.
 */
export class ClusterCoordinator {
  readonly view = new ClusterView();
  private sweepTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Clusters known to have stored answers: decided at every report; the others only when a member asks. */
  private readonly withAnswers = new Set<string>();
  /** When this collector starts deciding: undefined until its first connection. */
  private decidingFromMs: number | undefined;

  constructor(
    private readonly settings: ClusterSettings,
    private readonly deps: CoordinatorDeps,
  ) {}

  /** Re-decides every cluster on a timer: leases run out and members fall silent without a message. */
  start(intervalMs: number): void {
    this.sweepTimer = setInterval(() => void this.sweep(), intervalMs);
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    clearTimeout(this.graceTimer);
    this.sweepTimer = undefined;
  }

  /** The subscription is in place: retained reports are on their way; answers start after the grace. */
  onConnected(): void {
    if (this.decidingFromMs !== undefined) return;
    const graceMs = this.deps.graceMs ?? GRACE_MS;
    this.decidingFromMs = this.deps.now() + graceMs;
    this.graceTimer = setTimeout(() => void this.sweep(), graceMs + 10);
    this.graceTimer.unref();
  }

  /** A host's report (undefined: its retained report was cleared). Throws when the store fails. */
  async onReport(host: string, report: BalanceReport | undefined, receivedMs: number): Promise<void> {
    const clusters = this.view.setReport(host, report, receivedMs);
    let answered = false;
    for (const cluster of clusters) answered = (await this.decide(cluster)).some((c) => c.row.host === host) || answered;
    if (report && !answered) await this.converge(host, report);
  }

  /** A host's retained status: an offline agent's host counts as out of the pool. */
  async onStatus(host: string, online: boolean): Promise<void> {
    const cluster = this.view.setOnline(host, online);
    if (cluster !== undefined) await this.decide(cluster);
  }

  async onHostRemoved(host: string): Promise<void> {
    const cluster = this.view.forget(host);
    if (cluster !== undefined) await this.decide(cluster);
  }

  /** After every connection: the broker may have lost what was published while it was away. */
  async republish(): Promise<void> {
    for (const row of await this.deps.store.grants()) this.publish(row);
  }

  /** Every cluster's members, grants and failover figure, for the API, the page and /metrics. */
  async snapshots(): Promise<ClusterSnapshot[]> {
    const nowMs = this.deps.now();
    return clusterSnapshots(this.view.clusters(), (c) => this.view.members(c, nowMs), await this.deps.store.grants(), this.settings);
  }

  async sweep(): Promise<void> {
    try {
      // Clusters with stored answers (another collector's too) or a member asking: the rest have nothing to decide.
      for (const row of await this.deps.store.grants()) this.withAnswers.add(row.cluster);
      for (const cluster of this.view.clusters()) await this.decide(cluster);
    } catch (err) {
      this.deps.logger.warn({ err }, 'cannot decide the clusters\' drain grants now (the fleet store?); tried again at the next report');
    }
  }

  async decide(cluster: string): Promise<GrantChange[]> {
    const nowMs = this.deps.now();
    if (this.decidingFromMs === undefined || nowMs < this.decidingFromMs) return [];
    const members = this.view.members(cluster, nowMs);
    // Most reports are of clusters with nothing asked and nothing stored: no transaction for them.
    if (!this.withAnswers.has(cluster) && !members.some((m) => m.report.request)) return [];
    let left = 0;
    const changes = await this.deps.store.decideGrants(cluster, (current) => {
      const decided = decideGrants({ cluster, members, gone: (host) => this.view.gone(host, cluster), current, budget: budgetOf(this.settings, cluster), leaseMs: this.settings.leaseMs, nowMs, collector: this.deps.collector });
      const released = new Set(decided.filter((c) => c.kind === 'released').map((c) => c.row.host));
      left = new Set([...current.map((r) => r.host).filter((h) => !released.has(h)), ...decided.filter((c) => c.kind !== 'released').map((c) => c.row.host)]).size;
      return decided;
    });
    if (left > 0) this.withAnswers.add(cluster);
    else this.withAnswers.delete(cluster);
    for (const change of changes) this.announce(change);
    return changes;
  }

  private announce(change: GrantChange): void {
    const { logger } = this.deps;
    const r = change.row;
    const fields = { cluster: r.cluster, host: r.host, request: r.request, verdict: r.verdict };
    switch (change.kind) {
      case 'granted':
        logger.warn({ ...fields, leaseExpires: new Date(r.leaseExpiresMs!).toISOString() }, `drain granted: ${r.reason}`);
        break;
      case 'recorded':
        logger.warn(fields, `drain recorded: ${r.reason}`);
        break;
      case 'deferred':
        // A deferral is said once; a new reason (the loads moved) is only debug.
        if (change.previous?.state === 'deferred' && change.previous.request === r.request) logger.debug({ ...fields, reason: r.reason }, 'drain still deferred');
        else logger.warn({ ...fields, reason: r.reason }, 'drain deferred');
        break;
      case 'released':
        logger.info({ ...fields, why: change.why }, 'drain grant released');
        break;
      case 'renewed':
        break;
    }
    if (change.kind === 'released') this.deps.publish(grantTopic(this.deps.topicRoot, r.host), '');
    else this.publish(r);
  }

  private publish(row: GrantRow): void {
    const answer = {
      host: row.host,
      cluster: row.cluster,
      request: row.request,
      state: row.state,
      reason: row.reason,
      decidedMs: row.decidedMs,
      ...(row.leaseExpiresMs !== undefined ? { leaseExpiresMs: row.leaseExpiresMs } : {}),
      collector: row.collector,
    };
    this.deps.publish(grantTopic(this.deps.topicRoot, row.host), JSON.stringify(drainAnswerJson(answer)));
  }

  /** Sends the stored answer again when the host's report shows it holds another (or none). */
  private async converge(host: string, report: BalanceReport): Promise<void> {
    const request = report.request;
    if (!request) return;
    const row = (await this.deps.store.grants()).find((g) => g.host === host);
    if (!row || row.request !== request.id) return;
    const held = report.answer;
    if (held && held.request === row.request && held.state === row.state && held.decidedMs === row.decidedMs) return;
    this.publish(row);
  }
}
