import type { Logger } from '../logger.js';
import type { State } from '../state.js';
import { AgentCheckServer } from './agent-check.js';
import type { DiskRoleInfo } from './disk-roles.js';
import { describeOverride } from './override-decision.js';
import { OverrideWatcher } from './override-watch.js';
import { OverrideStore, type Override } from './override.js';
import { currentRoles } from './role-inputs.js';
import { BalanceService, type BalanceStatus } from './service.js';
import type { BalanceSettings } from './settings.js';

/** The collectors whose readings the disks' roles are made of. */
const ROLE_SOURCES: ReadonlySet<string> = new Set(['smart', 'storage', 'db']);

/** Why the published decision changed: the readings, or the operator's override. */
export type BalanceCause = 'harbinger' | 'operator';

export interface BalancerDeps {
  logger: Logger;
  /** The daemon's readings, re-decided from when the operator's override changes. */
  state: State;
  /** Where the operator's override is kept (the agent's state directory). */
  stateDir: string;
  onChange: (status: BalanceStatus, previous: BalanceStatus, cause: BalanceCause) => void;
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

  constructor(
    private settings: BalanceSettings,
    private readonly deps: BalancerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.service = new BalanceService(settings, this.now);
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

  /** The override is read before anything is answered, so a persisted drain holds from the first second. */
  async start(): Promise<void> {
    await this.watcher.start();
    await this.startAgentCheck();
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
    this.settings = settings;
    this.service.configure(settings);
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
    if (!this.service.update(this.deps.state, this.roles)) return;
    const status = this.service.status();
    this.deps.logger[status.state === 'up' && status.weight === 100 ? 'info' : 'warn'](
      { state: status.state, weight: status.weight, from: { state: previous.state, weight: previous.weight }, reasons: status.reasons, cause },
      'load-balancer decision changed',
    );
    this.deps.onChange(status, previous, cause);
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
    await this.watcher.stop();
    await this.agentCheck?.stop();
    this.agentCheck = undefined;
  }
}
