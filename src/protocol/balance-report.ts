import type { OverrideJson } from '../balance/override.js';
import {
  fail,
  iso,
  jsonObject,
  number,
  object,
  objectOrNull,
  oneOf,
  optionalNumber,
  text,
  texts,
  time,
  type JsonObject,
} from './fields.js';

/**
 * `<root>/<host>/balance`, retained, QoS 1 (docs/schemas/balance-report.schema.json): what the
 * host asks of the load balancer, why, the drain it asks the collector for and the answer it
 * holds, and its load. Published on every change and at least every `balance.report_interval`,
 * so its age is also the host's heartbeat.
 */

export type BalanceState = 'up' | 'drain' | 'down';
export const BALANCE_STATES: readonly BalanceState[] = ['up', 'drain', 'down'];
export type DrainVerdict = 'drive' | 'prediction';
export const DRAIN_VERDICTS: readonly DrainVerdict[] = ['drive', 'prediction'];
export type AnswerState = 'granted' | 'deferred';
export const ANSWER_STATES: readonly AnswerState[] = ['granted', 'deferred'];

/** A drain the host asks the collector for: its own decision is to drain for a data disk. */
export interface DrainRequest {
  /** Stable for the whole episode (kept in the state directory), so an answer is for this request only. */
  id: string;
  sinceMs: number;
  /** `drive`: the drive's own verdict (SMART FAILED, NVMe critical warning); `prediction`: harbinger's model or rules. */
  verdict: DrainVerdict;
  /** The worst risk level of the disks it drains for. */
  level: 'degraded' | 'failing';
  reason: string;
  disks: string[];
}

/** The collector's answer to one request, as the agent holds it. */
export interface HeldAnswer {
  request: string;
  state: AnswerState;
  decidedMs: number;
  collector: string;
}

export interface DatabaseLoad {
  target: string;
  latencySeconds?: number;
  statementsPerSecond?: number;
  connections?: number;
  maxConnections?: number;
}

export interface HostLoad {
  /** Busy share of all cores over about the last minute of /proc/stat readings, 0–1. */
  cpuUtilization?: number;
  cores?: number;
  /** PSI some, 60 s averages, percent of time. */
  pressure?: { cpu?: number; memory?: number; io?: number };
  databases: DatabaseLoad[];
}

export interface BalanceReport {
  host: string;
  /** The load-balancer backend the host serves in (`balance.cluster`); undefined: none. */
  cluster?: string;
  /** Relative capacity within the cluster (`balance.capacity`). */
  capacity: number;
  timeMs: number;
  reportIntervalSeconds: number;
  /** The published decision: what the load balancer is told. */
  state: BalanceState;
  weight: number;
  reasons: string[];
  sinceMs: number;
  decidedBy: 'harbinger' | 'operator';
  /** The host's own decision from its latest readings, before the collector's answer and the override. */
  own: { state: BalanceState; weight: number; reasons: string[] };
  override: OverrideJson | null;
  request?: DrainRequest;
  answer?: HeldAnswer;
  load: HostLoad;
}

export const balanceTopic = (root: string, host: string) => `${root}/${host}/balance`;

const MAX_REASONS = 32;
const MAX_DATABASES = 64;
/** A report claiming more than this is not believed (a thousand-core host reports 1000). */
const MAX_CAPACITY = 1_000_000;

export function balanceReportJson(r: BalanceReport): object {
  const orNull = (v: number | undefined) => (v === undefined ? null : v);
  return {
    host: r.host,
    cluster: r.cluster ?? null,
    capacity: r.capacity,
    time: iso(r.timeMs),
    report_interval_seconds: r.reportIntervalSeconds,
    state: r.state,
    weight: r.weight,
    reasons: r.reasons,
    since: iso(r.sinceMs),
    decided_by: r.decidedBy,
    own: r.own,
    override: r.override,
    request: r.request ? { id: r.request.id, since: iso(r.request.sinceMs), verdict: r.request.verdict, level: r.request.level, reason: r.request.reason, disks: r.request.disks } : null,
    answer: r.answer ? { request: r.answer.request, state: r.answer.state, decided: iso(r.answer.decidedMs), collector: r.answer.collector } : null,
    load: {
      cpu_utilization: orNull(r.load.cpuUtilization),
      cores: orNull(r.load.cores),
      pressure: r.load.pressure ? { cpu: orNull(r.load.pressure.cpu), memory: orNull(r.load.pressure.memory), io: orNull(r.load.pressure.io) } : null,
      databases: r.load.databases.map((d) => ({
        target: d.target,
        latency_seconds: orNull(d.latencySeconds),
        statements_per_second: orNull(d.statementsPerSecond),
        connections: orNull(d.connections),
        max_connections: orNull(d.maxConnections),
      })),
    },
  };
}

/**
 * Parses a report as the collector receives it. Throws PayloadError (a refused message) for
 * anything the collector would act on wrongly; the topic's host must be the payload's.
 */
export function parseBalanceReport(host: string, payload: string): BalanceReport {
  const o = jsonObject(payload);
  if (o.host !== host) fail(`host ${JSON.stringify(o.host)} does not match the topic's ${host}`);
  const cluster = o.cluster === null || o.cluster === undefined ? undefined : text(o, 'cluster', 200);
  if (cluster !== undefined && /[/#+]/.test(cluster)) fail('cluster must not contain /, # or +');
  const capacity = number(o, 'capacity', 0, MAX_CAPACITY);
  if (capacity <= 0) fail('capacity must be more than 0');
  const own = object(o, 'own');
  const request = objectOrNull(o, 'request');
  const answer = objectOrNull(o, 'answer');
  const decidedBy = oneOf(o, 'decided_by', ['harbinger', 'operator'] as const);
  return {
    host,
    ...(cluster !== undefined ? { cluster } : {}),
    capacity,
    timeMs: time(o, 'time'),
    reportIntervalSeconds: number(o, 'report_interval_seconds', 1, 86_400),
    state: oneOf(o, 'state', BALANCE_STATES),
    weight: number(o, 'weight', 0, 100),
    reasons: texts(o, 'reasons', MAX_REASONS),
    sinceMs: time(o, 'since'),
    decidedBy,
    own: { state: oneOf(own, 'state', BALANCE_STATES), weight: number(own, 'weight', 0, 100), reasons: texts(own, 'reasons', MAX_REASONS) },
    override: parseOverride(o.override),
    ...(request ? { request: parseRequest(request) } : {}),
    ...(answer ? { answer: parseHeldAnswer(answer) } : {}),
    load: parseLoad(object(o, 'load')),
  };
}

function parseRequest(o: JsonObject): DrainRequest {
  return {
    id: text(o, 'id', 64),
    sinceMs: time(o, 'since'),
    verdict: oneOf(o, 'verdict', DRAIN_VERDICTS),
    level: oneOf(o, 'level', ['degraded', 'failing'] as const),
    reason: text(o, 'reason', 2000),
    disks: texts(o, 'disks', 64, 200),
  };
}

function parseHeldAnswer(o: JsonObject): HeldAnswer {
  return { request: text(o, 'request', 64), state: oneOf(o, 'state', ANSWER_STATES), decidedMs: time(o, 'decided'), collector: text(o, 'collector', 200) };
}

function parseOverride(v: unknown): OverrideJson | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return fail('override must be an object or null');
  const o = v as JsonObject;
  const until = o.until === null || o.until === undefined ? null : text(o, 'until', 64);
  return { mode: oneOf(o, 'mode', ['drain', 'hold'] as const), reason: text(o, 'reason', 500), by: text(o, 'by', 200), since: text(o, 'since', 64), until };
}

function parseLoad(o: JsonObject): HostLoad {
  const cpu = optionalNumber(o, 'cpu_utilization', 0, 1);
  const cores = optionalNumber(o, 'cores', 1, 1_000_000);
  const p = objectOrNull(o, 'pressure');
  const databases = o.databases === undefined ? [] : o.databases;
  if (!Array.isArray(databases) || databases.length > MAX_DATABASES) fail(`load.databases must be a list of at most ${MAX_DATABASES}`);
  return {
    ...(cpu !== undefined ? { cpuUtilization: cpu } : {}),
    ...(cores !== undefined ? { cores } : {}),
    ...(p ? { pressure: pressureOf(p) } : {}),
    databases: (databases as unknown[]).map((d, i) => {
      if (typeof d !== 'object' || d === null || Array.isArray(d)) return fail(`load.databases[${i}] must be an object`);
      const db = d as JsonObject;
      const values = {
        latencySeconds: optionalNumber(db, 'latency_seconds', 0, 86_400),
        statementsPerSecond: optionalNumber(db, 'statements_per_second', 0, 1e12),
        connections: optionalNumber(db, 'connections', 0, 1e9),
        maxConnections: optionalNumber(db, 'max_connections', 0, 1e9),
      };
      return { target: text(db, 'target', 200), ...Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) } as DatabaseLoad;
    }),
  };
}

function pressureOf(o: JsonObject): NonNullable<HostLoad['pressure']> {
  const out: NonNullable<HostLoad['pressure']> = {};
  for (const key of ['cpu', 'memory', 'io'] as const) {
    const v = optionalNumber(o, key, 0, 100);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

