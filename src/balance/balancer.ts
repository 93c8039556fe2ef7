import { hostname } from 'node:os';
import type { PressureReading } from '../collectors/pressure/index.js';
import type { Logger } from '../logger.js';
import type { BalanceReport } from '../protocol/balance-report.js';
import type { DrainAnswer } from '../protocol/drain-grant.js';
import type { State } from '../state.js';
import { AgentCheckServer } from './agent-check.js';
import type { DiskRoleInfo } from './disk-roles.js';
import { DrainFile } from './drain-file.js';
import { DrainCoordination, type CoordinationSettings, type DrainView } from './drain-request.js';
import { balanceReport } from './report.js';
import { describeOverride } from './override-decision.js';
import { OverrideWatcher } from './override-watch.js';
import { OverrideStore, type Override } from './override.js';
import { currentRoles } from './role-inputs.js';
import { BalanceService, type BalanceStatus } from './service.js';
import type { BalanceSettings } from './settings.js';

/** The collectors whose readings the disks' roles are made of. */
const ROLE_SOURCES: ReadonlySet<string> = new Set(['smart', 'storage', 'db']);

/** Why the published decision changed: the readings, the operator's override, or the collector's answer to a drain request. */
export type BalanceCause = 'harbinger' | 'operator' | 'collector';

/** Where the report goes and the answers come from: the MQTT service, when a broker is configured. */
export interface BalanceLink {
  /** The name the host has in topics. */
  host: string;
  publishReport: (report: BalanceReport) => void;
  onAnswer: (handler: (answer: DrainAnswer | undefined) => void) => void;
}

export interface BalancerDeps {
  logger: Logger;
  /** The daemon's readings, re-decided from when the operator's override changes. */
  state: State;
  /** Where the operator's override is kept (the agent's state directory). */
  stateDir: string;
  onChange: (status: BalanceStatus, previous: BalanceStatus, cause: BalanceCause) => void;
  /** The collector has just deferred this host's drain request (once per request). */
  onDeferred?: () => void;
  now?: () => number;
}

/**
 * The load-balancer side of the daemon: what each disk carries, the decision (re-made after every
 * reading and on every change of the operator's override), the HAProxy agent-check listener when
 * configured, and one log line per change of decision.
 */
export class Balancer {
  private readonly service: BalanceService;
  private agentCheck: AgentCheckServer | undefined;
  private readonly watcher: OverrideWatcher;
  private roles: Map<string, DiskRoleInfo> = new Map();
  private readonly now: () => number;
  private readonly coordination: DrainCoordination;
  private link: BalanceLink | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAtMs: number | undefined;
  private reportedKey: string | undefined;
  private deferralAnnounced: string | undefined;

  constructor(
    private settings: BalanceSettings,
    private readonly deps: BalancerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.coordination = new DrainCoordination(this.coordinationSettings(), {
      file: new DrainFile(deps.stateDir),
      logger: deps.logger,
      now: this.now,
    });
    this.service = new BalanceService(settings, this.now, this.coordination);
    this.watcher = new OverrideWatcher({
      store: new OverrideStore(deps.stateDir),
      now: this.now,
      onChange: (active, problem) => this.onOverride(active, problem),
    });
  }

  status(): BalanceStatus {
    return this.service.status();
  }

  /** What each disk carries, as of the last reading. */
  diskRoles(): ReadonlyMap<string, DiskRoleInfo> {
    return this.roles;
  }

  /** The drain request and the answer held, if any. */
  drainRequest(): DrainView {
    const c = this.coordination;
    return { request: c.request(), answer: c.answer(), state: c.state(), coordinated: c.enabled, cluster: this.settings.cluster };
  }

  /**
   * The override and a held grant are read before anything is answered, so a persisted drain
   * holds from the first second.
   */
  async start(): Promise<void> {
    this.coordination.load();
    await this.watcher.start();
    await this.startAgentCheck();
  }

  /**
   * Connects the balance to MQTT (or disconnects it: undefined): the report is published on every
   * change and every report_interval, and drains for disks wait for the collector's grant when a
   * cluster is configured.
   */
  attach(link: BalanceLink | undefined): void {
    this.link = link;
    this.coordination.configure(this.coordinationSettings());
    clearInterval(this.reportTimer);
    this.reportTimer = undefined;
    if (!link) {
      if (this.settings.cluster !== undefined && this.settings.coordinate) {
        this.deps.logger.warn({ cluster: this.settings.cluster }, "balance.cluster is set but mqtt.url is not: there is no collector to grant drains, so only a drive's own verdict (SMART FAILED, an NVMe critical warning) drains this host, never a prediction");
      }
      return;
    }
    link.onAnswer((answer) => this.onAnswer(answer));
    this.reportTimer = setInterval(() => this.report(), this.settings.reportIntervalMs);
    this.reportTimer.unref();
    this.decide('harbinger');
    this.report();
  }

  private coordinationSettings(): CoordinationSettings {
    const { cluster, coordinate, grantTimeoutMs } = this.settings;
    return { host: this.link?.host ?? hostname(), cluster, enabled: coordinate && cluster !== undefined, linked: this.link !== undefined, grantTimeoutMs };
  }

  private onAnswer(answer: DrainAnswer | undefined): void {
    const before = this.coordination.answer()?.state;
    if (!this.coordination.onAnswer(answer)) return;
    if (!answer) {
      this.deps.logger.warn({ request: this.coordination.request()?.id }, 'the collector released the drain grant while the host still needs it: asking again');
    } else if (answer.state !== before) {
      // Only a new state is logged: a new reason for the same answer (the loads moved) shows in the reasons.
      this.deps.logger[answer.state === 'granted' ? 'info' : 'warn'](
        { request: answer.request, state: answer.state, collector: answer.collector, reason: answer.reason },
        answer.state === 'granted' ? 'the collector granted the drain' : 'the collector deferred the drain',
      );
    }
    this.decide('collector');
    // Once per request: a deferral whose reason moves with the loads is not news.
    if (answer?.state === 'deferred' && this.deferralAnnounced !== answer.request) {
      this.deferralAnnounced = answer.request;
      this.deps.onDeferred?.();
    }
    this.report();
  }

  /** What, in the report, the collector acts on: sent at once when it changes. */
  private reportKey(): string {
    const s = this.service.status();
    const r = this.coordination.request();
    // The first CPU figure too: the collector cannot weigh a member's load without it.
    const cpuKnown = this.deps.state.reading<PressureReading>('pressure')?.cpu !== undefined;
    return JSON.stringify([s.state, s.weight, s.decidedBy, r?.id, r?.verdict, r?.level, this.coordination.answer()?.state, cpuKnown]);
  }

  private report(): void {
    const link = this.link;
    if (!link) return;
    this.reportedKey = this.reportKey();
    link.publishReport(balanceReport(link.host, this.service.status(), this.coordination, this.deps.state, this.settings, this.now()));
  }

  /** Decides again when the wait for the collector's answer runs out, not only at the next reading. */
  private armDeadline(): void {
    const deadline = this.coordination.deadlineMs();
    if (deadline === this.deadlineAtMs) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineAtMs = deadline;
    if (deadline === undefined) return;
    this.deadlineTimer = setTimeout(() => {
      this.deadlineAtMs = undefined;
      this.decide('harbinger');
    }, Math.max(0, deadline - this.now()) + 10);
    this.deadlineTimer.unref();
  }

  private async startAgentCheck(): Promise<void> {
    if (!this.settings.agentCheck) return;
    const server = new AgentCheckServer(() => this.service.status(), this.deps.logger);
    await server.start(this.settings.agentCheck);
    this.agentCheck = server;
  }

  /** SIGHUP: new limits apply at the next reading; a new agent-check address reopens the listener. */
  async reconfigure(settings: BalanceSettings): Promise<void> {
    const reopen = JSON.stringify(settings.agentCheck) !== JSON.stringify(this.settings.agentCheck);
    const reschedule = settings.reportIntervalMs !== this.settings.reportIntervalMs;
    this.settings = settings;
    this.service.configure(settings);
    this.coordination.configure(this.coordinationSettings());
    if (reschedule && this.link) this.attach(this.link);
    if (reopen) {
      await this.agentCheck?.stop();
      this.agentCheck = undefined;
      await this.startAgentCheck();
    }
  }

  /**
   * Re-maps the disks after a reading they are made of (SMART disks, the block-device tree, the
   * databases' data paths), before MQTT publishes their states; other readings leave them as they are.
   */
  updateRoles(collector: string): ReadonlyMap<string, DiskRoleInfo> {
    if (ROLE_SOURCES.has(collector)) this.roles = currentRoles(this.deps.state, this.settings);
    return this.roles;
  }

  onReading(): void {
    this.decide('harbinger');
  }

  private decide(cause: BalanceCause): void {
    const previous = this.service.status();
    const changed = this.service.update(this.deps.state, this.roles);
    this.armDeadline();
    if (!changed) {
      // A request made, updated or dropped changes what the collector must know, not the decision.
      if (this.reportKey() !== this.reportedKey) this.report();
      return;
    }
    const status = this.service.status();
    this.deps.logger[status.state === 'up' && status.weight === 100 ? 'info' : 'warn'](
      { state: status.state, weight: status.weight, from: { state: previous.state, weight: previous.weight }, reasons: status.reasons, cause },
      'load-balancer decision changed',
    );
    this.deps.onChange(status, previous, cause);
    this.report();
  }

  private onOverride(active: Override | undefined, problem: string | undefined): void {
    const { logger } = this.deps;
    if (problem) logger.error({ problem }, 'the operator override file is not valid and is ignored: harbinger decides (fix or remove it with harbinger balance resume)');
    else if (active) logger.warn({ mode: active.mode, reason: active.reason, by: active.by, ...(active.untilMs !== undefined ? { until: new Date(active.untilMs).toISOString() } : {}) }, `operator ${active.mode} ${describeOverride(active)}`);
    else if (this.service.status().override) {
      const ended = this.service.status().override;
      const expired = ended?.untilMs !== undefined && ended.untilMs <= this.now();
      logger.info({ ...(ended ? { mode: ended.mode, reason: ended.reason } : {}) }, expired ? 'operator override expired: harbinger decides' : 'operator override ended: harbinger decides');
    }
    this.service.setOverride(active, problem);
    this.decide('operator');
  }

  async stop(): Promise<void> {
    clearInterval(this.reportTimer);
    clearTimeout(this.deadlineTimer);
    this.reportTimer = undefined;
    this.deadlineTimer = undefined;
    this.deadlineAtMs = undefined;
    await this.watcher.stop();
    await this.agentCheck?.stop();
    this.agentCheck = undefined;
  }
}
