import { Registry } from 'prom-client';
import { Balancer, type BalanceCause } from './balance/balancer.js';
import { balanceChanged, drainDeferred, type HostEvent } from './balance/host-events.js';
import { registerBalanceMetrics } from './balance/metrics.js';
import type { BalanceStatus } from './balance/service.js';
import type { CollectorDefinition } from './collectors/types.js';
import { ConfigError } from './config/problems.js';
import { HttpService } from './http.js';
import type { Logger } from './logger.js';
import type { SmartReading } from './collectors/smart/collector.js';
import { Exposition } from './metrics/exposition.js';
import { openHistoryStore, type HistoryStore } from './predict/history-store.js';
import { registerPredictionMetrics } from './predict/metrics.js';
import { PredictionService, type PredictionsReading } from './predict/service.js';
import { modelFor } from './predict/settings.js';
import { createRegistry, type ReloadStatus } from './metrics/registry.js';
import type { RuntimeConfig } from './runtime-config.js';
import { registerMqttMetrics } from './mqtt/metrics.js';
import type { MqttService } from './mqtt/service.js';
import type { MqttSettings } from './mqtt/settings.js';
import { Scheduler } from './scheduler.js';
import { PREDICTIONS, State } from './state.js';
import { registerDamagedFilesMetric } from './state-file.js';

export interface DaemonDeps {
  collectors: readonly CollectorDefinition[];
  logger: Logger;
  version: string;
  /** Re-reads file, env and flags (SIGHUP). */
  reloadConfig: () => Promise<RuntimeConfig>;
  now?: () => number;
}

/** Starts the services in order and stops them in reverse; SIGHUP swaps in a new valid config. */
export class Daemon {
  readonly state = new State();
  readonly registry: Registry;
  private readonly exposition: Exposition;
  private history: HistoryStore | undefined;
  /** The state directory in use: a reload's new one takes effect at the next restart. */
  private stateDir: string;
  private predictions: PredictionService | undefined;
  private runtime: RuntimeConfig;
  private scheduler: Scheduler | undefined;
  private http: HttpService | undefined;
  private mqtt: MqttService | undefined;
  private readonly balancer: Balancer;
  private readonly reloadStatus: ReloadStatus;
  /** Counts a state file found damaged and replaced by a fresh one. */
  private readonly damagedFiles: (file: string) => void;
  private readonly startedAtMs: number;
  private readonly now: () => number;

  constructor(
    initial: RuntimeConfig,
    private readonly deps: DaemonDeps,
  ) {
    this.runtime = initial;
    this.stateDir = initial.config.stateDir;
    this.now = deps.now ?? Date.now;
    this.startedAtMs = this.now();
    this.reloadStatus = { successful: true, lastSuccessMs: this.startedAtMs };
    const reload = this.reloadStatus;
    this.registry = createRegistry(deps.version, this.state, () => reload);
    this.damagedFiles = registerDamagedFilesMetric(this.registry);
    registerMqttMetrics(this.registry, () => this.mqtt?.status());
    this.balancer = new Balancer(initial.config.balance, {
      logger: deps.logger.child({ component: 'balance' }),
      state: this.state,
      stateDir: this.stateDir,
      onChange: (status, previous, cause) => this.announceBalance(status, previous, cause),
      onDeferred: () => this.announceDeferral(),
      now: this.now,
    });
    registerBalanceMetrics(
      this.registry,
      () => this.balancer.status(),
      () => {
        const roles = this.balancer.diskRoles();
        return (this.state.reading<PredictionsReading>(PREDICTIONS)?.disks ?? []).map((d) => ({ disk: d.disk, device: d.device, role: roles.get(d.disk)?.role ?? 'unknown' }));
      },
      () => this.balancer.drainRequest().state,
    );
    this.exposition = new Exposition(this.registry);
    for (const definition of deps.collectors) {
      const registry = new Registry();
      const latest = () => this.state.reading(definition.name);
      definition.registerMetrics(registry, latest);
      this.exposition.addCollector(registry, latest);
    }
    const predictions = new Registry();
    const latestPredictions = () => this.state.reading<PredictionsReading>(PREDICTIONS);
    registerPredictionMetrics(predictions, latestPredictions);
    this.exposition.addCollector(predictions, latestPredictions);
  }

  get port(): number | undefined {
    return this.http?.port;
  }

  async start(): Promise<void> {
    this.openHistory();
    await this.startMqtt(this.runtime.config.mqtt);
    // The operator's override is read before the first reading is decided or anything answered.
    await this.balancer.start();
    this.balancer.attach(this.balanceLink());
    this.startScheduler();
    await this.startHttp();
    this.deps.logger.info({ version: this.deps.version, config: this.runtime.config.file ?? '(defaults)' }, 'harbinger started');
  }

  /** Stops accepting scrapes first, then the collectors; each step runs even if one fails. */
  async stop(): Promise<void> {
    const steps: Array<[string, () => Promise<void> | undefined]> = [
      ['http', () => this.http?.stop()],
      ['agent-check', () => this.balancer.stop()],
      ['scheduler', () => this.scheduler?.stop()],
      ['mqtt', () => this.mqtt?.stop()],
      ['history', async () => this.history?.close()],
    ];
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (err) {
        this.deps.logger.error({ err, step: name }, 'error while stopping');
      }
    }
    this.http = undefined;
    this.scheduler = undefined;
    this.mqtt = undefined;
    this.history = undefined;
  }

  /** The history store in the state directory, or memory when that cannot be used (npm start as a user). */
  private openHistory(): void {
    const logger = this.deps.logger.child({ component: 'predict' });
    const store = openHistoryStore(this.runtime.config.stateDir, logger, () => this.damagedFiles('history.sqlite'));
    this.history = store;
    this.predictions = new PredictionService(store, logger, this.now, modelFor(this.runtime.config.predict));
  }

  /** SIGHUP: a valid new config replaces the running one; an invalid one is logged and ignored. */
  async reload(): Promise<boolean> {
    const { logger } = this.deps;
    let next: RuntimeConfig;
    try {
      next = await this.deps.reloadConfig();
    } catch (err) {
      this.reloadStatus.successful = false;
      const problems = err instanceof ConfigError ? err.problems : [{ key: '', message: String(err) }];
      const omitted = err instanceof ConfigError ? err.omitted : 0;
      logger.error({ problems, ...(omitted > 0 ? { omitted } : {}) }, 'configuration reload refused; the running configuration is kept');
      return false;
    }
    const previous = this.runtime;
    if (previous.config.stateDir !== next.config.stateDir) {
      logger.warn({ stateDir: previous.config.stateDir }, 'state_dir changes take effect at the next restart; keeping the current one');
    }
    this.runtime = next;
    logger.level = next.config.log.level;
    this.predictions?.setModel(modelFor(next.config.predict));
    await this.scheduler?.stop();
    if (JSON.stringify(previous.config.mqtt) !== JSON.stringify(next.config.mqtt)) {
      await this.mqtt?.stop();
      await this.startMqtt(next.config.mqtt);
      this.balancer.attach(this.balanceLink());
    }
    this.startScheduler();
    try {
      await this.balancer.reconfigure(next.config.balance);
    } catch (err) {
      logger.error({ err }, 'cannot answer agent-check on the new address; it is off until the next successful reload');
      this.reloadStatus.successful = false;
      return false;
    }
    try {
      await this.http?.update(httpSettings(next));
    } catch (err) {
      logger.error({ err }, 'cannot serve with the new web settings; serving with the previous ones');
      this.runtime = { ...next, config: { ...next.config, web: previous.config.web }, web: previous.web };
      this.reloadStatus.successful = false;
      return false;
    }
    this.reloadStatus.successful = true;
    this.reloadStatus.lastSuccessMs = this.now();
    logger.info({ config: next.config.file ?? '(defaults)' }, 'configuration reloaded');
    return true;
  }

  private startScheduler(): void {
    if (!this.runtime.config.collector.smart?.enabled) this.state.clearReading(PREDICTIONS);
    this.scheduler = new Scheduler(this.deps.collectors, this.runtime.config, {
      state: this.state,
      logger: this.deps.logger,
      ...(this.deps.now ? { now: this.deps.now } : {}),
      onReading: (collector, reading) => {
        this.onReading(collector, reading);
      },
    });
    this.scheduler.start();
  }

  /** After each reading: predictions (SMART), what the disks carry, then MQTT, then the load-balancer decision. */
  private onReading(collector: string, reading: unknown): void {
    let predictions: PredictionsReading | undefined;
    if (collector === 'smart' && this.predictions) {
      predictions = this.predictions.onSmartReading(reading as SmartReading);
      this.state.setReading(PREDICTIONS, predictions, this.now());
    }
    const roles = this.balancer.updateRoles(collector);
    if (predictions) {
      try {
        this.mqtt?.onPredictions(predictions, roles);
      } catch (err) {
        // MQTT must never stop the collectors or the predictions in /metrics.
        this.deps.logger.error({ err }, 'cannot hand predictions to MQTT');
      }
    }
    this.balancer.onReading();
  }

  /** The balance's way to the collector: reports out, drain answers in; none without MQTT. */
  private balanceLink() {
    const mqtt = this.mqtt;
    const settings = this.runtime.config.mqtt;
    if (!mqtt || !settings) return undefined;
    return {
      host: settings.host,
      publishReport: (report: Parameters<MqttService['publishBalanceReport']>[0]) => mqtt.publishBalanceReport(report),
      onAnswer: (handler: Parameters<MqttService['onDrainAnswer']>[0]) => mqtt.onDrainAnswer(handler),
    };
  }

  /** A changed load-balancer decision, or the operator's override, is also a host event for the schedulers. */
  private announceBalance(status: BalanceStatus, previous: BalanceStatus, cause: BalanceCause): void {
    this.publish(balanceChanged(status, previous, cause, this.balancer.drainRequest()));
  }

  /** The collector deferred this host's drain: an event for the on-call tools, once per request. */
  private announceDeferral(): void {
    const event = drainDeferred(this.balancer.drainRequest());
    if (event) this.publish(event);
  }

  private publish(event: HostEvent): void {
    this.mqtt?.publishHostEvent(event.kind, event.identity, event.data);
  }

  /**
   * MQTT is off without a broker URL, and its libraries are not even loaded (about 10 MiB of
   * resident memory); with one, the outbox opens now and the connection in the background.
   */
  private async startMqtt(settings: MqttSettings | undefined): Promise<void> {
    this.mqtt = undefined;
    if (!settings) return;
    const { MqttService } = await import('./mqtt/service.js');
    const mqtt = new MqttService(settings, {
      logger: this.deps.logger.child({ component: 'mqtt' }),
      version: this.deps.version,
      stateDir: this.stateDir,
      startedAtMs: this.startedAtMs,
      now: this.now,
      onStateFileDamaged: this.damagedFiles,
    });
    mqtt.start();
    this.mqtt = mqtt;
  }

  private async startHttp(): Promise<void> {
    const http = new HttpService(httpSettings(this.runtime), {
      exposition: this.exposition,
      state: this.state,
      logger: this.deps.logger.child({ component: 'http' }),
      version: this.deps.version,
      startedAtMs: this.startedAtMs,
      mqttStatus: () => this.mqtt?.status(),
      balance: () => this.balancer.status(),
      roles: () => this.balancer.diskRoles(),
      drain: () => this.balancer.drainRequest(),
    });
    await http.start();
    this.http = http;
  }
}

function httpSettings(runtime: RuntimeConfig) {
  return { listenAddress: runtime.config.web.listenAddress, web: runtime.web };
}
