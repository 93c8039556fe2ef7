import type { Logger } from '../logger.js';
import type { MqttSettings } from '../mqtt/settings.js';
import type { WebConfig } from '../web/webconfig.js';
import { fleetHosts, fleetSummary } from './api.js';
import { FleetHttp } from './http.js';
import { INVALID_LOG_INTERVAL_MS, Ingest } from './ingest.js';
import { FleetMetrics } from './metrics.js';
import type { FleetSettings, FleetStoreSettings } from './settings.js';
import { createStore, type FleetStore } from './store.js';
import { FleetSubscriber } from './subscriber.js';
import { ClusterCoordinator } from './clusters/coordinator.js';

const DAY_MS = 86_400_000;
const PRUNE_INTERVAL_MS = 3_600_000;
/** Leases run out and members fall silent between messages: every cluster is decided again this often. */
const CLUSTER_SWEEP_MS = 15_000;

/** What `harbinger collector` runs with: the broker (`mqtt:`), its own section, its web config. */
export interface FleetRuntime {
  mqtt: MqttSettings;
  fleet: FleetSettings;
  web: WebConfig | undefined;
}

export interface FleetCollectorDeps {
  logger: Logger;
  version: string;
  now?: () => number;
  /** Seconds after the first connection before drain requests are answered (tests shorten it). */
  clusterGraceMs?: number;
}

/**
 * The central collector: the store first (nothing is acknowledged without it), then HTTP, then
 * the MQTT subscription; stopped in reverse, each step even if another failed.
 */
export class FleetCollector {
  private store: FleetStore | undefined;
  private ingest: Ingest | undefined;
  private subscriber: FleetSubscriber | undefined;
  private http: FleetHttp | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Ends each invalid-message interval, so its summary line comes even when messages stop. */
  private invalidTimer: NodeJS.Timeout | undefined;
  private clusters: ClusterCoordinator | undefined;
  private readonly now: () => number;

  constructor(
    private readonly runtime: FleetRuntime,
    private readonly deps: FleetCollectorDeps,
  ) {
    this.now = deps.now ?? Date.now;
  }

  /** The HTTP port, once listening (useful with port 0). */
  get port(): number | undefined {
    return this.http?.port;
  }

  async start(): Promise<void> {
    const { logger, version } = this.deps;
    const { fleet, mqtt, web } = this.runtime;
    const store = await createStore(fleet.store, logger.child({ component: 'store' }));
    await store.open();
    this.store = store;
    logger.info({ store: describeStore(fleet.store) }, 'fleet store open');
    let subscriber: FleetSubscriber | undefined;
    const clusters = new ClusterCoordinator(fleet.clusters, {
      store,
      logger: logger.child({ component: 'clusters' }),
      topicRoot: mqtt.topicRoot,
      collector: fleet.clientId,
      publish: (topic, payload) => subscriber?.publishRetained(topic, payload),
      now: this.now,
      ...(this.deps.clusterGraceMs !== undefined ? { graceMs: this.deps.clusterGraceMs } : {}),
    });
    this.clusters = clusters;
    const ingest = new Ingest({ store, logger: logger.child({ component: 'ingest' }), topicRoot: mqtt.topicRoot, now: this.now, clusters });
    this.ingest = ingest;
    subscriber = new FleetSubscriber(
      { mqtt, group: fleet.group, clientId: fleet.clientId, sessionExpirySeconds: fleet.sessionExpirySeconds },
      {
        logger: logger.child({ component: 'mqtt' }),
        handle: (topic, payload) => ingest.handle(topic, payload),
        now: this.now,
        onConnected: () => {
          clusters.onConnected();
          void clusters.republish().catch((err) => ingest.storeFailed(err, 'read'));
        },
      },
    );
    const storeRead = (err?: unknown) => ingest.storeRead(err);
    const metrics = new FleetMetrics(version, {
      ingest: () => ingest.stats,
      subscriber: () => subscriber!.stats,
      clusters: async () => {
        try {
          const snapshots = await clusters.snapshots();
          storeRead();
          return snapshots;
        } catch (err) {
          storeRead(err);
          return undefined;
        }
      },
      summary: async () => {
        try {
          const summary = fleetSummary(fleetHosts(await store.hosts(), await store.disks()));
          storeRead();
          return summary;
        } catch (err) {
          storeRead(err);
          return undefined;
        }
      },
    });
    const http = new FleetHttp(
      { listenAddress: fleet.listenAddress, web },
      { store, metrics, logger: logger.child({ component: 'http' }), version, now: this.now, health: () => this.health(), storeRead, clusters: () => clusters.snapshots() },
    );
    await http.start();
    this.http = http;
    subscriber.start();
    this.subscriber = subscriber;
    clusters.start(CLUSTER_SWEEP_MS);
    void this.prune();
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.invalidTimer = setInterval(() => ingest.rollInvalidInterval(), INVALID_LOG_INTERVAL_MS / 4);
    this.invalidTimer.unref();
    logger.info({ version, url: mqtt.url, clientId: fleet.clientId, group: fleet.group }, 'harbinger collector started');
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    clearInterval(this.invalidTimer);
    this.clusters?.stop();
    const steps: Array<[string, () => Promise<void> | undefined]> = [
      ['mqtt', () => this.subscriber?.stop()],
      ['http', () => this.http?.stop()],
      ['store', () => this.store?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.deps.logger.error({ err, step: name }, 'error while stopping');
      }
    }
    this.subscriber = undefined;
    this.http = undefined;
    this.store = undefined;
  }

  health(): { status: 'ok' | 'degraded' } & Record<string, unknown> {
    const connected = this.subscriber?.stats.connected ?? false;
    const stats = this.ingest?.stats;
    const storeUp = stats?.storeUp ?? false;
    return {
      status: connected && storeUp ? 'ok' : 'degraded',
      version: this.deps.version,
      mqtt_connected: connected,
      store: { driver: this.runtime.fleet.store.driver, up: storeUp },
      events_processed: stats?.eventsProcessed ?? 0,
      events_deduplicated: stats?.eventsDeduplicated ?? 0,
    };
  }

  /** Drops events older than fleet.history_days (every collector does it; it is idempotent). */
  private async prune(): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      const removed = await store.prune(this.now() - this.runtime.fleet.historyDays * DAY_MS);
      this.ingest?.writeSucceeded();
      if (removed > 0) this.deps.logger.info({ removed, historyDays: this.runtime.fleet.historyDays }, 'old events removed from the fleet store');
    } catch (err) {
      this.ingest?.storeFailed(err, 'write');
    }
  }
}

/** The store for the log: never the password (a DSN cannot carry one here, and it is not logged whole). */
function describeStore(store: FleetStoreSettings): Record<string, string> {
  if (store.driver === 'sqlite') return { driver: 'sqlite', path: store.path };
  const url = new URL(store.dsn);
  return { driver: 'postgres', server: `${url.hostname}:${url.port || '5432'}`, database: url.pathname.replace(/^\//, '') };
}
