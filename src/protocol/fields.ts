import { parseDateTime } from './dates.js';

/**
 * Defensive readers for JSON payloads that arrive over MQTT: a hostile or damaged message gives a
 * `PayloadError` naming the field, never an exception of another kind, and never a value of the
 * wrong type passed on.
 */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

export const fail = (reason: string): never => {
  throw new PayloadError(reason);
};

/** Retained payloads above this are not ours: refused before they are parsed. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

export type JsonObject = Record<string, unknown>;

/** `maxBytes`: a bound for messages of a kind that may be larger (the collector's events have none of their own). */
export function jsonObject(text: string, maxBytes = MAX_PAYLOAD_BYTES): JsonObject {
  const bytes = maxBytes === Infinity ? 0 : Buffer.byteLength(text);
  if (bytes > maxBytes) fail(`payload is ${bytes} bytes, more than ${maxBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(text === '' ? 'empty payload' : 'payload is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('payload is not a JSON object');
  return value as JsonObject;
}

export function object(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(`${key} must be an object`);
  return v as JsonObject;
}

/** An object, or null/absent. */
export function objectOrNull(o: JsonObject, key: string): JsonObject | undefined {
  const v = o[key];
  if (v === null || v === undefined) return undefined;
  return object(o, key);
}

export function text(o: JsonObject, key: string, maxLength = 1000): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') return fail(`${key} must be a non-empty string`);
  if (v.length > maxLength) fail(`${key} is longer than ${maxLength} characters`);
  return v;
}

export function optionalText(o: JsonObject, key: string, maxLength = 1000): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : text(o, key, maxLength);
}

export function texts(o: JsonObject, key: string, maxItems = 64, maxLength = 1000): string[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > maxItems) return fail(`${key} must be a list of at most ${maxItems} strings`);
  return v.map((item, i) => (typeof item === 'string' && item.length <= maxLength ? item : fail(`${key}[${i}] must be a string of at most ${maxLength} characters`)));
}

export function number(o: JsonObject, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) return fail(`${key} must be a number from ${min} to ${max}`);
  return v;
}

export function optionalNumber(o: JsonObject, key: string, min: number, max: number): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : number(o, key, min, max);
}

export function oneOf<T extends string>(o: JsonObject, key: string, values: readonly T[]): T {
  const v = o[key];
  if (!values.includes(v as T)) fail(`${key} must be one of ${values.join(', ')}`);
  return v as T;
}

/** A timestamp (an RFC 3339 date-time, as the schemas' `format: date-time`) as Unix ms. */
export function time(o: JsonObject, key: string): number {
  const v = text(o, key, 64);
  const ms = parseDateTime(v);
  return ms === undefined ? fail(`${key} is not an RFC 3339 date-time: ${v}`) : ms;
}

export function optionalTime(o: JsonObject, key: string): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : time(o, key);
}

export const iso = (ms: number) => new Date(ms).toISOString();
