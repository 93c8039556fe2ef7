import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import { DISK_ROLES, type DiskRole } from './disk-roles.js';
import { REQUEST_STATES, type RequestState } from './drain-request.js';
import type { BalanceStatus } from './service.js';

const STATES = ['up', 'drain', 'down'] as const;
const OVERRIDE_MODES = ['hold', 'drain'] as const;

/** The load-balancer decision, rendered on every scrape. */
export function registerBalanceMetrics(
  registry: Registry,
  status: () => BalanceStatus,
  roles: () => ReadonlyArray<{ disk: string; device: string; role: DiskRole }>,
  drainRequest: () => RequestState | undefined = () => undefined,
): void {
  stateFamily(registry, {
    name: 'harbinger_balance_drain_request',
    help: "This host's drain request to the collector (a cluster member whose data disk drains it): 1 for where it stands, waiting, granted, deferred or unanswered (past balance.grant_timeout); all 0 without one.",
    type: 'gauge',
    labelNames: ['state'],
    *samples() {
      const current = drainRequest();
      for (const state of REQUEST_STATES) yield { labels: { state }, value: Number(state === current) };
    },
  });
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
  stateFamily(registry, {
    name: 'harbinger_balance_override',
    help: "The operator's override in force (harbinger balance hold|drain): 1 for the current mode, all 0 when harbinger decides.",
    type: 'gauge',
    labelNames: ['mode'],
    *samples() {
      const mode = status().override?.mode;
      for (const m of OVERRIDE_MODES) yield { labels: { mode: m }, value: Number(m === mode) };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_disk_role',
    help: 'What a disk carries, 1 for the current role: data (drains the host at the drain level), redundant, system, unused, unknown.',
    type: 'gauge',
    labelNames: ['disk', 'device', 'role'],
    *samples() {
      for (const d of roles()) for (const role of DISK_ROLES) yield { labels: { disk: d.disk, device: d.device, role }, value: Number(role === d.role) };
    },
  });
}
