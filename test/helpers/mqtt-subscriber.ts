import type { ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import mqtt, { type IClientOptions } from 'mqtt';
import { repoPath } from './tmp.js';
import { waitFor } from './tools.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  /** Parsed JSON, or undefined for an empty (clearing) payload. */
  json: any;
}

/** The published JSON Schemas in docs/schemas, compiled once. */
function compileSchemas(): Record<'status' | 'disk' | 'event' | 'balance' | 'grant', ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
  addFormats(ajv);
  const load = (name: string) => JSON.parse(readFileSync(repoPath('docs/schemas', name), 'utf8')) as object;
  ajv.addSchema(load('common.schema.json'));
  return {
    status: ajv.compile(load('status.schema.json')),
    disk: ajv.compile(load('disk-state.schema.json')),
    event: ajv.compile(load('event.schema.json')),
    balance: ajv.compile(load('balance-report.schema.json')),
    grant: ajv.compile(load('drain-grant.schema.json')),
  };
}
let schemas: ReturnType<typeof compileSchemas> | undefined;

/**
 * Which schema a topic's payload must satisfy; an empty retained payload (a clear) is valid on the
 * disk topics only. Returns the problems, empty when valid.
 */
export function schemaProblems(topic: string, payload: string): string[] {
  schemas ??= compileSchemas();
  const kind = /\/status$/.test(topic)
    ? 'status'
    : /\/disks\/[^/]+$/.test(topic)
      ? 'disk'
      : /\/events\/[^/]+$/.test(topic)
        ? 'event'
        : /\/balance$/.test(topic)
          ? 'balance'
          : /\/grant$/.test(topic)
            ? 'grant'
            : undefined;
  if (!kind) return [`no schema for topic ${topic}`];
  // Clearing a retained message: a disk that is gone, a drain answer withdrawn.
  if (payload === '') return kind === 'disk' || kind === 'grant' ? [] : [`empty payload on ${topic}`];
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return [`not JSON on ${topic}: ${payload.slice(0, 80)}`];
  }
  const validate = schemas[kind];
  if (validate(json)) return [];
  return (validate.errors ?? []).map((e) => `${topic}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

export interface Subscriber {
  messages: Received[];
  /** Every message that failed its schema (tests assert this stays empty). */
  invalid: string[];
  events(): Received[];
  waitFor<T>(what: string, probe: (messages: Received[]) => T | undefined, timeoutMs?: number): Promise<T>;
  end(): Promise<void>;
}

/** A plain (non-shared) subscription to everything under `filter`, validating every payload. */
export async function subscribe(t: ExecutionContext, url: string, filter: string, options: IClientOptions = {}): Promise<Subscriber> {
  const client = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 500, clientId: `test-${Math.random().toString(16).slice(2)}`, ...options });
  const messages: Received[] = [];
  const invalid: string[] = [];
  client.on('message', (topic, payload, packet) => {
    const text = payload.toString();
    invalid.push(...schemaProblems(topic, text));
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    messages.push({ topic, payload: text, retain: packet.retain, json });
  });
  // Resubscribes after a broker restart (mqtt.js does so on reconnect by default).
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  const end = () => new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  t.teardown(end);
  return {
    messages,
    invalid,
    events: () => messages.filter((m) => m.topic.includes('/events/')),
    waitFor: (what, probe, timeoutMs = 15_000) => waitFor(what, async () => probe(messages), timeoutMs),
    end,
  };
}
