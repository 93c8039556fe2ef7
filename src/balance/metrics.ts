import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import type { BalanceStatus } from './service.js';

const STATES = ['up', 'drain', 'down'] as const;

/** The load-balancer decision, rendered on every scrape. */
export function registerBalanceMetrics(registry: Registry, status: () => BalanceStatus): void {
  stateFamily(registry, {
    name: 'harbinger_balance_weight_ratio',
    help: 'The weight this host asks of the load balancer, 0-1 of its configured weight (0 when drained or down).',
    type: 'gauge',
    *samples() {
      yield { labels: {}, value: status().weight / 100 };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_balance_state',
    help: 'The state this host asks of the load balancer: 1 for the current one of up, drain, down.',
    type: 'gauge',
    labelNames: ['state'],
    *samples() {
      const current = status().state;
      for (const state of STATES) yield { labels: { state }, value: Number(state === current) };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_balance_state_since_timestamp_seconds',
    help: 'When the state or weight last changed (Unix time).',
    type: 'gauge',
    *samples() {
      yield { labels: {}, value: status().sinceMs / 1000 };
    },
  });
}
