import type { Registry } from 'prom-client';
import { stateFamily, type Labels, type Sample } from '../../metrics/state-family.js';
import { stateHistogram } from '../../metrics/state-histogram.js';
import type { DbReading } from './collector.js';
import { REASONS } from './errors.js';
import type { StatementDelta } from './statements.js';
import { PROBE_BUCKETS, type TargetReading } from './target.js';

type Latest = () => DbReading | undefined;

const targets = (latest: Latest): readonly TargetReading[] => latest()?.targets ?? [];

function perTarget(registry: Registry, latest: Latest, name: string, help: string, value: (t: TargetReading) => number | undefined): void {
  stateFamily(registry, {
    name,
    help,
    type: 'gauge',
    labelNames: ['target'],
    *samples() {
      for (const t of targets(latest)) {
        const v = value(t);
        if (v !== undefined && Number.isFinite(v)) yield { labels: { target: t.name }, value: v };
      }
    },
  });
}

const statementLabels = (t: TargetReading, s: StatementDelta): Labels => ({ target: t.name, digest: s.digest, database: s.database, user: s.user });

function perStatement(registry: Registry, latest: Latest, name: string, help: string, value: (s: StatementDelta) => number): void {
  stateFamily(registry, {
    name,
    help,
    type: 'gauge',
    labelNames: ['target', 'digest', 'database', 'user'],
    *samples() {
      for (const t of targets(latest)) for (const s of t.statements?.top ?? []) yield { labels: statementLabels(t, s), value: value(s) };
    },
  });
}

export function registerDbMetrics(registry: Registry, latest: Latest): void {
  stateFamily(registry, {
    name: 'harbinger_db_info',
    help: 'A database target: its driver and the server version it reported (once connected). Always 1.',
    type: 'gauge',
    labelNames: ['target', 'driver', 'version'],
    *samples() {
      for (const t of targets(latest)) if (t.version) yield { labels: { target: t.name, driver: t.driver, version: t.version }, value: 1 };
    },
  });
  perTarget(registry, latest, 'harbinger_db_up', 'Whether the last probe query was answered (1) or failed (0; see harbinger_db_probe_errors_total).', (t) =>
    t.up === undefined ? undefined : Number(t.up),
  );
  perTarget(
    registry,
    latest,
    'harbinger_db_unanswered_probes',
    'Probes in a row that found the database not answering (refused, no socket, timeout, shutting down); balance.down_after of them take the host down. 0 while it answers, and during a monitoring fault.',
    (t) => (t.up === undefined ? undefined : t.unansweredProbes),
  );
  stateHistogram(registry, {
    name: 'harbinger_db_probe_duration_seconds',
    help: 'Round trip of answered probe queries (connection kept open; failed probes are counted in harbinger_db_probe_errors_total).',
    labelNames: ['target'],
    buckets: PROBE_BUCKETS,
    *samples() {
      for (const t of targets(latest)) yield { labels: { target: t.name }, counts: t.histogram.counts, sum: t.histogram.sum };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_db_probe_errors_total',
    help: 'Failed probes by reason: connect (no connection), auth (login refused), timeout (cancelled on the server), query (the query failed).',
    type: 'counter',
    labelNames: ['target', 'reason'],
    *samples() {
      for (const t of targets(latest)) {
        for (const reason of REASONS) yield { labels: { target: t.name, reason }, value: t.errorsTotal[reason] } satisfies Sample;
      }
    },
  });
  stateFamily(registry, {
    name: 'harbinger_db_connections',
    help: 'Client connections to the server by state (PostgreSQL: pg_stat_activity states; MySQL: active = Threads_running, idle = the rest).',
    type: 'gauge',
    labelNames: ['target', 'state'],
    *samples() {
      for (const t of targets(latest)) {
        for (const [state, n] of Object.entries(t.status?.connections ?? {})) yield { labels: { target: t.name, state }, value: n };
      }
    },
  });
  perTarget(registry, latest, 'harbinger_db_connections_max', 'The server\'s max_connections.', (t) => t.status?.maxConnections);
  perTarget(registry, latest, 'harbinger_db_replication_lag_seconds', 'How far a replica is behind its primary; only for replicas.', (t) => t.status?.replication?.lagSeconds);
  perTarget(registry, latest, 'harbinger_db_replication_running', 'Whether a replica\'s replication is running (1) or stopped (0); only for replicas.', (t) =>
    t.status?.replication ? Number(t.status.replication.running) : undefined,
  );
  perTarget(
    registry,
    latest,
    'harbinger_db_statements_available',
    'Whether the server\'s statement statistics (pg_stat_statements, performance_schema) can be read (1) or not (0; the log says what to enable or grant).',
    (t) => (t.statementsAvailable === undefined ? undefined : Number(t.statementsAvailable)),
  );
  perStatement(registry, latest, 'harbinger_db_statement_mean_seconds', 'Mean execution time over the last interval, of the statements with the most total time.', (s) => s.meanSeconds);
  perStatement(registry, latest, 'harbinger_db_statement_calls_per_second', 'Executions per second over the last interval, of the statements with the most total time.', (s) => s.callsPerSecond);
  stateFamily(registry, {
    name: 'harbinger_db_statement_info',
    help: 'The normalized text of a top statement (only with statements.query_text). Always 1.',
    type: 'gauge',
    labelNames: ['target', 'digest', 'database', 'user', 'query'],
    *samples() {
      for (const t of targets(latest)) {
        for (const s of t.statements?.top ?? []) {
          const query = t.statements?.texts[s.digest];
          if (query !== undefined) yield { labels: { ...statementLabels(t, s), query }, value: 1 };
        }
      }
    },
  });
  perTarget(registry, latest, 'harbinger_db_statements_mean_seconds', 'Mean execution time of all statements over the last interval.', (t) => t.statements?.total.meanSeconds);
  perTarget(registry, latest, 'harbinger_db_statements_calls_per_second', 'Executions per second of all statements over the last interval.', (t) => t.statements?.total.callsPerSecond);
}
