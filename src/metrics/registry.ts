import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { State } from '../state.js';
import { stateFamily } from './state-family.js';

export interface ReloadStatus {
  successful: boolean;
  lastSuccessMs: number;
}

/**
 * prom-client's Node metrics that `promtool check metrics` rejects: gauges named `_total`
 * ("non-counter metrics should not have _total suffix"). The end-to-end test runs promtool on a
 * full scrape, so a prom-client upgrade that adds another offender fails there.
 */
const DROPPED_DEFAULT_METRICS: readonly string[] = [
  'harbinger_nodejs_active_handles_total',
  'harbinger_nodejs_active_requests_total',
  'harbinger_nodejs_active_resources_total',
];

/** The agent's own metrics: build info, process health, collector status, config reloads. */
export function createRegistry(version: string, state: State, reload: () => ReloadStatus): Registry {
  const registry = new Registry();
  // prom-client samples event-loop delay every 10 ms by default: 100 wake-ups a second, which
  // was most of an idle agent's CPU (scripts/bench-agent.mjs: 0.385% of a core at 10 ms, 0.060%
  // at 250 ms). A quarter second still shows the stalls that matter to a scrape.
  collectDefaultMetrics({ register: registry, prefix: 'harbinger_', eventLoopMonitoringPrecision: 250 });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);

  new Gauge({
    name: 'harbinger_build_info',
    help: 'The agent version and the Node.js it runs on. Always 1.',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  }).set({ version, nodejs_version: process.versions.node }, 1);

  const statusFamily = (name: string, help: string, value: (c: string) => number | undefined) =>
    stateFamily(registry, {
      name,
      help,
      type: 'gauge',
      labelNames: ['collector'],
      *samples() {
        for (const collector of state.collectors()) {
          if (!state.status(collector).enabled) continue;
          const v = value(collector);
          if (v !== undefined) yield { labels: { collector }, value: v };
        }
      },
    });
  statusFamily('harbinger_collector_success', 'Whether the last collection succeeded (1) or failed (0).', (c) => {
    const s = state.status(c).success;
    return s === undefined ? undefined : Number(s);
  });
  statusFamily('harbinger_collector_duration_seconds', 'How long the last collection took.', (c) => state.status(c).lastDurationSeconds);
  statusFamily(
    'harbinger_collector_last_success_timestamp_seconds',
    'When the collector last succeeded (Unix time): the age of the data it serves.',
    (c) => {
      const ms = state.status(c).lastSuccessMs;
      return ms === undefined ? undefined : ms / 1000;
    },
  );
  stateFamily(registry, {
    name: 'harbinger_collector_failures_total',
    help: 'Failed collections, by reason (error: the collector threw; timeout: it ran past its timeout).',
    type: 'counter',
    labelNames: ['collector', 'reason'],
    *samples() {
      for (const collector of state.collectors()) {
        const totals = state.status(collector).failuresTotal;
        for (const reason of ['error', 'timeout'] as const) {
          yield { labels: { collector, reason }, value: totals[reason] };
        }
      }
    },
  });
  stateFamily(registry, {
    name: 'harbinger_config_last_reload_successful',
    help: 'Whether the last configuration load (start or SIGHUP) succeeded (1) or was refused (0).',
    type: 'gauge',
    *samples() {
      yield { labels: {}, value: Number(reload().successful) };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_config_last_reload_success_timestamp_seconds',
    help: 'When the configuration was last loaded successfully (Unix time).',
    type: 'gauge',
    *samples() {
      yield { labels: {}, value: reload().lastSuccessMs / 1000 };
    },
  });
  return registry;
}
