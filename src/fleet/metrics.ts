import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import { CONNECT_ERROR_REASONS } from '../mqtt/connect-errors.js';
import { RISK_LEVELS } from '../predict/types.js';
import type { FleetSummary } from './api.js';
import type { IngestStats } from './ingest.js';
import type { SubscriberStats } from './subscriber.js';
import { HOST_STATES } from './types.js';
import { MEMBER_STATES } from './clusters/members.js';
import type { ClusterSnapshot } from './clusters/snapshot.js';

export interface FleetMetricsSource {
  ingest: () => IngestStats;
  subscriber: () => SubscriberStats;
  /** Hosts by state and disks by level, read from the store for this scrape; undefined when it failed. */
  summary: () => Promise<FleetSummary | undefined>;
  /** Every cluster, read for this scrape; undefined when the store failed. */
  clusters: () => Promise<ClusterSnapshot[] | undefined>;
}

/**
 * The collector's /metrics. The fleet gauges (hosts, disks) describe the shared state, so every
 * collector on one PostgreSQL store reports the same numbers (aggregate them with max); the
 * counters are this collector's own.
 */
export class FleetMetrics {
  private readonly registry = new Registry();
  private summary: FleetSummary | undefined;
  private clusters: ClusterSnapshot[] | undefined;

  constructor(
    version: string,
    private readonly source: FleetMetricsSource,
  ) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'harbinger_', eventLoopMonitoringPrecision: 250 });
    // promtool refuses gauges named _total (prom-client's active handles/requests/resources).
    for (const metric of registry.getMetricsAsArray()) {
      if (metric.name.endsWith('_total') && !(metric instanceof Counter)) registry.removeSingleMetric(metric.name);
    }
    new Gauge({
      name: 'harbinger_build_info',
      help: 'The collector version and the Node.js it runs on. Always 1.',
      labelNames: ['version', 'nodejs_version'],
      registers: [registry],
    }).set({ version, nodejs_version: process.versions.node }, 1);

    const fleet = () => this.summary;
    stateFamily(registry, {
      name: 'harbinger_fleet_hosts',
      help: 'Hosts in the fleet by their retained status: online, offline, or unknown (disks seen, no status yet).',
      type: 'gauge',
      labelNames: ['state'],
      *samples() {
        const s = fleet();
        if (s) for (const state of HOST_STATES) yield { labels: { state }, value: s.hosts[state] };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_disks',
      help: 'Disks in the fleet by announced risk level.',
      type: 'gauge',
      labelNames: ['level'],
      *samples() {
        const s = fleet();
        if (s) for (const level of RISK_LEVELS) yield { labels: { level }, value: s.disks[level] };
      },
    });
    const clusters = () => this.clusters ?? [];
    stateFamily(registry, {
      name: 'harbinger_fleet_cluster_members',
      help: "Members of each cluster (balance.cluster) by state: up (in the pool), drain, down (a database does not answer), offline (agent gone or silent).",
      type: 'gauge',
      labelNames: ['cluster', 'state'],
      *samples() {
        for (const c of clusters()) for (const state of MEMBER_STATES) yield { labels: { cluster: c.cluster, state }, value: c.counts[state] };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_cluster_drained',
      help: 'Members of each cluster out of the pool: drained, down, offline, or granted a drain; what counts against fleet.clusters.max_drained.',
      type: 'gauge',
      labelNames: ['cluster'],
      *samples() {
        for (const c of clusters()) yield { labels: { cluster: c.cluster }, value: c.drained };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_cluster_max_drained',
      help: 'The drain budget of each cluster (fleet.clusters.max_drained, or its override).',
      type: 'gauge',
      labelNames: ['cluster'],
      *samples() {
        for (const c of clusters()) yield { labels: { cluster: c.cluster }, value: c.maxDrained };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_cluster_failover_utilization_ratio',
      help: 'How full the fullest remaining member of each cluster would be (CPU, or connections against max_connections) if the member whose loss hurts most dropped out; +Inf when none would be left; absent when a member reports no CPU.',
      type: 'gauge',
      labelNames: ['cluster'],
      *samples() {
        for (const c of clusters()) if (c.headroom.ratio !== undefined) yield { labels: { cluster: c.cluster }, value: c.headroom.ratio };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_cluster_deferred',
      help: 'Drain requests of each cluster deferred now (budget spent, or the others could not carry the load): failing data disks still serving.',
      type: 'gauge',
      labelNames: ['cluster'],
      *samples() {
        for (const c of clusters()) yield { labels: { cluster: c.cluster }, value: c.grants.filter((g) => g.state === 'deferred').length };
      },
    });
    const single = (name: string, help: string, type: 'gauge' | 'counter', value: () => number) =>
      stateFamily(registry, {
        name,
        help,
        type,
        *samples() {
          yield { labels: {}, value: value() };
        },
      });
    const ingest = source.ingest;
    single('harbinger_fleet_events_processed_total', 'Valid events this collector handled: stored, or found already stored.', 'counter', () => ingest().eventsProcessed);
    single('harbinger_fleet_events_deduplicated_total', 'Events already in the store (same source and id): redeliveries, or another collector stored them first.', 'counter', () => ingest().eventsDeduplicated);
    single('harbinger_fleet_state_updates_total', 'Retained status and disk messages applied to the store (clears included).', 'counter', () => ingest().stateUpdates);
    single('harbinger_fleet_store_errors_total', 'Failed store reads and writes; a message whose write failed is not acknowledged and comes again.', 'counter', () => ingest().storeErrors);
    single('harbinger_fleet_store_up', 'Whether the last store write succeeded and no read has failed since the last good read (1), or not (0).', 'gauge', () => Number(ingest().storeUp));
    single('harbinger_fleet_mqtt_connected', 'Whether the collector is connected to the MQTT broker (1) or not (0).', 'gauge', () => Number(source.subscriber().connected));
    stateFamily(registry, {
      name: 'harbinger_fleet_invalid_messages_total',
      help: 'Messages refused (acknowledged, not stored) by kind: status, disk, event, balance, or topic (not a harbinger topic).',
      type: 'counter',
      labelNames: ['kind'],
      *samples() {
        for (const [kind, value] of Object.entries(ingest().invalid)) yield { labels: { kind }, value };
      },
    });
    stateFamily(registry, {
      name: 'harbinger_fleet_mqtt_connection_errors_total',
      help: 'Failed or lost broker connections, by reason (connect, tls, auth, protocol, refused, timeout, lost).',
      type: 'counter',
      labelNames: ['reason'],
      *samples() {
        const errors = source.subscriber().connectErrors;
        for (const reason of CONNECT_ERROR_REASONS) yield { labels: { reason }, value: errors[reason] ?? 0 };
      },
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The scrape: the fleet gauges are read from the store now; without it they are left out. */
  async render(): Promise<string> {
    [this.summary, this.clusters] = await Promise.all([this.source.summary(), this.source.clusters()]);
    return this.registry.metrics();
  }
}
