import { parseBalanceReport, type BalanceReport } from '../protocol/balance-report.js';
import { isRealDate, parseDateTime } from '../protocol/dates.js';
import { jsonObject, PayloadError } from '../protocol/fields.js';
import { RISK_LEVELS } from '../predict/types.js';
import { optional } from './store.js';
import type { DiskRecord, Evidence, FleetEvent, HostStatus, RiskLevel } from './types.js';

/** What a topic under the root is: the three kinds of message the agents publish. */
export type TopicKind =
  | { kind: 'status'; host: string }
  | { kind: 'disk'; host: string; slot: string }
  | { kind: 'event'; host: string; eventKind: string }
  | { kind: 'balance'; host: string };

/** The message kinds, as the `kind` label of the invalid-message counter. */
export const MESSAGE_KINDS = ['status', 'disk', 'event', 'balance'] as const;

/**
 * A parsed message: the record to store, a cleared retained topic, or why it is refused. A
 * refused message is acknowledged anyway (counted and logged): sending it again cannot fix it.
 */
export type Parsed =
  | { kind: 'status'; status: HostStatus }
  | { kind: 'host-cleared'; host: string }
  | { kind: 'disk'; disk: DiskRecord }
  | { kind: 'disk-cleared'; host: string; slot: string }
  | { kind: 'event'; event: FleetEvent }
  | { kind: 'balance'; host: string; report: BalanceReport | undefined }
  | { kind: 'invalid'; messageKind: (typeof MESSAGE_KINDS)[number] | 'topic'; host: string; reason: string };

export function parseTopic(root: string, topic: string): TopicKind | undefined {
  if (!topic.startsWith(`${root}/`)) return undefined;
  const parts = topic.slice(root.length + 1).split('/');
  const [host, what, name] = parts;
  if (!host) return undefined;
  if (parts.length === 2 && what === 'status') return { kind: 'status', host };
  if (parts.length === 2 && what === 'balance') return { kind: 'balance', host };
  if (parts.length === 3 && what === 'disks' && name) return { kind: 'disk', host, slot: name };
  if (parts.length === 3 && what === 'events' && name) return { kind: 'event', host, eventKind: name };
  return undefined;
}

class Invalid extends Error {}
const fail = (reason: string): never => {
  throw new Invalid(reason);
};

/** Turns one MQTT message into what to store. Never throws: a bad payload is `invalid`. */
export function parseMessage(root: string, topic: string, payload: Buffer, receivedMs: number): Parsed {
  const where = parseTopic(root, topic);
  if (!where) return { kind: 'invalid', messageKind: 'topic', host: '', reason: `not a harbinger topic: ${topic}` };
  const text = payload.toString('utf8');
  try {
    if (where.kind === 'status') {
      if (text === '') return { kind: 'host-cleared', host: where.host };
      return { kind: 'status', status: toStatus(where.host, json(text), receivedMs) };
    }
    if (where.kind === 'disk') {
      if (text === '') return { kind: 'disk-cleared', host: where.host, slot: where.slot };
      return { kind: 'disk', disk: toDisk(where.host, where.slot, json(text), receivedMs) };
    }
    if (where.kind === 'balance') return { kind: 'balance', host: where.host, report: text === '' ? undefined : parseBalanceReport(where.host, text) };
    return { kind: 'event', event: toEvent(where.host, json(text), receivedMs) };
  } catch (err) {
    if (!(err instanceof Invalid) && !(err instanceof PayloadError)) throw err;
    return { kind: 'invalid', messageKind: where.kind, host: where.host, reason: err.message };
  }
}

/** Disk states and events keep the bound they always had: none but the broker's. */
const json = (text: string): Record<string, unknown> => jsonObject(text, Infinity);

const str = (o: Record<string, unknown>, key: string, required = true): string | undefined => {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || (required && v === '')) return fail(`${key} must be a non-empty string`);
  return v;
};

/** Timestamps are stored in one form (ISO 8601, UTC, milliseconds), so they compare as text too. */
const time = (o: Record<string, unknown>, key: string, required = true): string | undefined => {
  const v = str(o, key, required);
  if (v === undefined) return undefined;
  const ms = parseDateTime(v);
  return ms === undefined ? fail(`${key} is not an RFC 3339 date-time: ${v}`) : new Date(ms).toISOString();
};

const level = (o: Record<string, unknown>, key: string): RiskLevel => {
  const v = o[key];
  if (!RISK_LEVELS.includes(v as RiskLevel)) fail(`${key} must be one of ${RISK_LEVELS.join(', ')}`);
  return v as RiskLevel;
};

function toStatus(host: string, o: Record<string, unknown>, receivedMs: number): HostStatus {
  if (o.state !== 'online' && o.state !== 'offline') fail('state must be online or offline');
  if (o.host !== host) fail(`host ${JSON.stringify(o.host)} does not match the topic's ${host}`);
  const boot = o.boot;
  if (boot !== undefined && !(Number.isInteger(boot) && (boot as number) >= 1)) fail('boot must be a whole number, 1 or more');
  const reason = str(o, 'reason', false);
  const version = str(o, 'version', false);
  const started = time(o, 'started', false);
  return {
    host,
    state: o.state as 'online' | 'offline',
    ...(reason !== undefined && o.state === 'offline' ? { reason } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(boot !== undefined ? { boot: boot as number } : {}),
    ...(started !== undefined ? { started } : {}),
    receivedMs,
  };
}

function toDisk(host: string, slot: string, o: Record<string, unknown>, receivedMs: number): DiskRecord {
  if (o.host !== host) fail(`host ${JSON.stringify(o.host)} does not match the topic's ${host}`);
  const disk = str(o, 'disk')!;
  // The agent names the topic after the disk id (made topic-safe): anything else is not its message.
  if (disk.replace(/[^A-Za-z0-9._;:-]/g, '_') !== slot) fail(`disk ${JSON.stringify(disk)} does not match the topic's ${slot}`);
  const probability = o.probability;
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1)) fail('probability must be a number from 0 to 1');
  const horizon = o.horizon_days;
  if (horizon !== undefined && !(Number.isInteger(horizon) && (horizon as number) >= 1)) fail('horizon_days must be a whole number, 1 or more');
  const replaceBy = str(o, 'replace_by', false);
  if (replaceBy !== undefined && !isRealDate(replaceBy)) fail(`replace_by must be a real date like 2026-12-08: ${replaceBy}`);
  const text = (key: string) => str(o, key, false);
  return {
    host,
    disk,
    slot,
    device: str(o, 'device', false) ?? '',
    ...optional({ model: text('model'), serial: text('serial'), protocol: text('protocol'), replaceBy, episodeStarted: time(o, 'episode_started', false) }),
    ...(horizon !== undefined ? { horizonDays: horizon as number } : {}),
    level: level(o, 'level'),
    predictedLevel: o.predicted_level === undefined ? level(o, 'level') : level(o, 'predicted_level'),
    probability: probability as number,
    evidence: evidence(o.evidence),
    lastReading: time(o, 'last_reading')!,
    updatedMs: receivedMs,
  };
}

/** Evidence entries without their required fields are dropped, not the whole state. */
function evidence(value: unknown): Evidence[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return fail('evidence must be a list');
  return value.filter(
    (e): e is Evidence =>
      typeof e === 'object' && e !== null && typeof e.signal === 'string' && typeof e.note === 'string' && (typeof e.value === 'number' || typeof e.value === 'boolean'),
  );
}

function toEvent(host: string, o: Record<string, unknown>, receivedMs: number): FleetEvent {
  if (o.specversion !== '1.0') fail('specversion must be "1.0" (a CloudEvent in structured JSON mode)');
  const id = str(o, 'id')!;
  if (id.length > 200) fail('id is longer than 200 characters');
  const source = str(o, 'source')!;
  // One host cannot speak for another: the topic and the source name the same host.
  if (source !== `harbinger://${host}`) fail(`source ${source} does not match the topic's host ${host}`);
  const type = str(o, 'type')!;
  const subject = str(o, 'subject')!;
  const data = o.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('data must be a JSON object');
  // Disk events name their disk; host events (io.harbinger.host.*, subject = host) have none.
  const named = (data as Record<string, unknown>).disk;
  const disk = typeof named === 'string' && named !== '' ? named : type.includes('.disk.') ? subject : '';
  return {
    source,
    id,
    type,
    subject,
    time: time(o, 'time')!,
    host,
    disk,
    data: data as Record<string, unknown>,
    receivedMs,
  };
}
