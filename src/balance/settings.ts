import { DURATION_PATTERN, parseDuration } from '../config/duration.js';
import { LISTEN_ADDRESS_PATTERN, parseListenAddress, type ListenAddress } from '../config/listen-address.js';
import type { ConfigProblem } from '../config/problems.js';
import type { Origin } from '../config/schema-problems.js';

const percent = (comment: string, def: number) => ({
  type: 'number',
  minimum: 0,
  maximum: 100,
  description: 'a percentage, 0 to 100',
  $comment: comment,
  default: def,
});

/** The `balance:` section: how the host's state becomes a load-balancer weight. */
export const BALANCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    agent_check_address: {
      type: 'string',
      pattern: `(${LISTEN_ADDRESS_PATTERN})|^$`,
      description: 'an address like :10192 or 10.0.0.5:10192, or empty',
      $comment: 'where to answer HAProxy agent-check (agent-port); empty: off',
      default: '',
    },
    drain_level: {
      type: 'string',
      enum: ['failing', 'degraded', 'never'],
      $comment: 'a data disk at this risk level (or worse) drains the host; never: disks never drain it',
      default: 'failing',
    },
    down_after: {
      type: 'integer',
      minimum: 1,
      maximum: 100,
      description: 'a number of probes, 1 or more',
      $comment: 'a database that does not answer this many probes in a row takes the host down',
      default: 3,
    },
    unknown_disk_role: {
      type: 'string',
      enum: ['drain', 'ignore'],
      $comment: "a disk whose role cannot be read (a container, no permission): drain, as if it held the data, or ignore",
      default: 'drain',
    },
    data_paths: {
      type: 'array',
      items: { type: 'string', pattern: '^/' },
      description: 'absolute paths',
      $comment: 'paths that hold database data besides what the databases report (a database not probed, an archive directory)',
      default: [],
    },
    cluster: {
      type: 'string',
      pattern: '^[^/#+]*$',
      maxLength: 200,
      description: 'a name without /, # or +, or empty',
      $comment: 'the load-balancer backend this host serves in; hosts with the same cluster share a drain budget at the collector; empty: none',
      default: '',
    },
    capacity: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1000000,
      description: 'a number above 0',
      $comment: "this host's capacity relative to the other members of its cluster (its weight in the load balancer): 2 carries twice the load of 1",
      default: 1,
    },
    report_interval: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: 'a duration like 15s, 1m30s or 500ms',
      $comment: 'with MQTT: the retained <root>/<host>/balance report (decision, drain request, load) is re-sent at least this often; it is also the heartbeat the collector watches',
      default: '30s',
    },
    coordinate: {
      type: 'boolean',
      description: 'true or false',
      $comment: 'with a cluster and MQTT: a drain for a disk waits for the collector\'s grant, so no more of the cluster is drained than it can carry; false: the host drains on its own decision',
      default: true,
    },
    grant_timeout: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: 'a duration like 15s, 1m30s or 500ms',
      $comment: "a drain request with no answer from the collector this long drains anyway, but only on the drive's own verdict (SMART FAILED, NVMe critical warning), never on a prediction",
      default: '2m',
    },
    min_weight: { ...percent('the lowest weight pressure or latency can give (drain and down aside)', 10), minimum: 1 },
    settle: {
      type: 'string',
      pattern: DURATION_PATTERN,
      description: 'a duration like 15s, 1m30s or 500ms',
      $comment: 'a better state or a higher weight is given only after holding this long; worse ones at once',
      default: '2m',
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cpu_pressure: percent('CPU pressure (PSI some, 60 s average, % of time) above which the weight drops', 50),
        memory_pressure: percent('memory pressure (PSI some, 60 s average) above which the weight drops', 20),
        io_pressure: percent('IO pressure (PSI some, 60 s average) above which the weight drops', 30),
        db_latency: {
          type: 'string',
          pattern: DURATION_PATTERN,
          description: 'a duration like 15s, 1m30s or 500ms',
          $comment: 'database probe latency (median of the last 3 probes) above which the weight drops',
          default: '250ms',
        },
      },
    },
  },
} as const;

export interface BalanceSettings {
  agentCheck: ListenAddress | undefined;
  drainLevel: 'failing' | 'degraded' | 'never';
  downAfter: number;
  unknownDiskRole: 'drain' | 'ignore';
  dataPaths: string[];
  /** The cluster this host serves in; undefined: none. */
  cluster: string | undefined;
  capacity: number;
  reportIntervalMs: number;
  /** Ask the collector before draining for a disk (effective with a cluster and MQTT). */
  coordinate: boolean;
  grantTimeoutMs: number;
  minWeight: number;
  settleMs: number;
  limits: { cpuPressure: number; memoryPressure: number; ioPressure: number; dbLatencySeconds: number };
}

export function toBalanceSettings(raw: Record<string, any>, originOf: (path: string[]) => Origin, problems: ConfigProblem[]): BalanceSettings {
  let agentCheck: ListenAddress | undefined;
  if (raw.agent_check_address) {
    const parsed = parseListenAddress(raw.agent_check_address);
    if (typeof parsed === 'string') {
      problems.push({ key: 'balance.agent_check_address', message: parsed, ...originOf(['balance', 'agent_check_address']) });
    } else {
      agentCheck = parsed;
    }
  }
  const latencyMs = parseDuration(raw.limits.db_latency);
  if (latencyMs <= 0) problems.push({ key: 'balance.limits.db_latency', message: 'must be more than 0', ...originOf(['balance', 'limits', 'db_latency']) });
  const reportIntervalMs = parseDuration(raw.report_interval);
  if (reportIntervalMs < 1000) problems.push({ key: 'balance.report_interval', message: `must be at least 1s, got "${raw.report_interval}"`, ...originOf(['balance', 'report_interval']) });
  const grantTimeoutMs = parseDuration(raw.grant_timeout);
  if (grantTimeoutMs < 1000) problems.push({ key: 'balance.grant_timeout', message: `must be at least 1s, got "${raw.grant_timeout}"`, ...originOf(['balance', 'grant_timeout']) });
  return {
    agentCheck,
    cluster: raw.cluster || undefined,
    capacity: raw.capacity,
    reportIntervalMs,
    coordinate: raw.coordinate,
    grantTimeoutMs,
    drainLevel: raw.drain_level,
    downAfter: raw.down_after,
    unknownDiskRole: raw.unknown_disk_role,
    dataPaths: [...raw.data_paths],
    minWeight: Math.round(raw.min_weight),
    settleMs: parseDuration(raw.settle),
    limits: {
      cpuPressure: raw.limits.cpu_pressure,
      memoryPressure: raw.limits.memory_pressure,
      ioPressure: raw.limits.io_pressure,
      dbLatencySeconds: latencyMs / 1000,
    },
  };
}
