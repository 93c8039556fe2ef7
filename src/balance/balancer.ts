import type { Logger } from '../logger.js';
import type { State } from '../state.js';
import { AgentCheckServer } from './agent-check.js';
import { BalanceService, type BalanceStatus } from './service.js';
import type { BalanceSettings } from './settings.js';

/**
 * The load-balancer side of the daemon: the decision (re-made after every reading), the HAProxy
 * agent-check listener when configured, and one log line per change of decision.
 */
export class Balancer {
  private readonly service: BalanceService;
  private agentCheck: AgentCheckServer | undefined;

  constructor(
    private settings: BalanceSettings,
    private readonly logger: Logger,
    private readonly onChange: (status: BalanceStatus, previous: BalanceStatus) => void,
    now: () => number = Date.now,
  ) {
    this.service = new BalanceService(settings, now);
  }

  status(): BalanceStatus {
    return this.service.status();
  }

  async start(): Promise<void> {
    if (!this.settings.agentCheck) return;
    const server = new AgentCheckServer(() => this.service.status(), this.logger);
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
      await this.start();
    }
  }

  onReading(state: State): void {
    const previous = this.service.status();
    if (!this.service.update(state)) return;
    const status = this.service.status();
    this.logger[status.state === 'up' && status.weight === 100 ? 'info' : 'warn'](
      { state: status.state, weight: status.weight, from: { state: previous.state, weight: previous.weight }, reasons: status.reasons },
      'load-balancer decision changed',
    );
    this.onChange(status, previous);
  }

  async stop(): Promise<void> {
    await this.agentCheck?.stop();
    this.agentCheck = undefined;
  }
}
