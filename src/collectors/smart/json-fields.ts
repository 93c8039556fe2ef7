/**
 * Typed readers for fields of parsed `smartctl --json` output. Every reader takes the parent
 * object, the key and the JSON path of the parent, and returns `undefined` when the key is absent
 * (a missing field stays missing: "no data" is not "zero"), the typed value when it is well formed,
 * and throws SmartParseError('bad_field', …, path) when it is present with the wrong type or an
 * impossible value. Nothing here ever throws anything else.
 */
import { SmartParseError } from './reading.js';

export type Obj = Record<string, unknown>;

/** JSON path of `key` under `parent` (`ata_smart_attributes.table[3].raw`). */
export function at(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own property only: a key like `constructor` in the JSON must not find Object.prototype's. */
export function field(obj: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** A short rendering of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

export function badField(path: string, expected: string, value: unknown): SmartParseError {
  return new SmartParseError('bad_field', `${path}: expected ${expected}, got ${describe(value)}`, path);
}

export function optObject(obj: Obj, key: string, path: string): Obj | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (!isObj(value)) throw badField(at(path, key), 'an object', value);
  return value;
}

export function optArray(obj: Obj, key: string, path: string): unknown[] | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw badField(at(path, key), 'an array', value);
  return value;
}

export function optString(obj: Obj, key: string, path: string): string | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badField(at(path, key), 'a string', value);
  return value;
}

export function optBoolean(obj: Obj, key: string, path: string): boolean | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badField(at(path, key), 'true or false', value);
  return value;
}

/** A finite number of either sign (temperatures). */
export function optNumber(obj: Obj, key: string, path: string): number | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw badField(at(path, key), 'a finite number', value);
  return value;
}

/** An exact integer in [min, max] (flags, percentages, small enums). */
export function optInteger(obj: Obj, key: string, path: string, min: number, max: number): number | undefined {
  const value = field(obj, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badField(at(path, key), `an integer from ${min} to ${max}`, value);
  }
  return value;
}

const DIGITS = /^[0-9]{1,40}$/;

/**
 * A non-negative integer that smartctl may print beyond 2^53. smartctl's json.cpp
 * (`set_unsafe_uint64`/`set_unsafe_uint128`) writes such a value as the number `KEY` plus the
 * exact decimal string `KEY_s` (and `KEY_le`, its bytes) in 7.1+; a 6.x development version wrote
 * one object `{"n": number, "s": "decimal", "le": [...]}` instead. Both are understood here; the
 * string wins when present because JSON.parse rounds numbers above 2^53.
 * Returns the value as a number, and whether it is exact.
 */
function readUnsigned(obj: Obj, key: string, path: string): { value: number; exact: boolean } | undefined {
  let raw = field(obj, key);
  let rawPath = at(path, key);
  let text = field(obj, `${key}_s`);
  let textPath = at(path, `${key}_s`);
  if (isObj(raw) && (field(raw, 'n') !== undefined || field(raw, 's') !== undefined)) {
    text = field(raw, 's');
    textPath = at(rawPath, 's');
    raw = field(raw, 'n');
    rawPath = at(rawPath, 'n');
  }
  if (text !== undefined) {
    if (typeof text !== 'string' || !DIGITS.test(text)) throw badField(textPath, 'a decimal string', text);
    const value = Number(text);
    return { value, exact: Number.isSafeInteger(value) };
  }
  if (raw === undefined) return undefined;
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0 || !Number.isInteger(raw)) {
    throw badField(rawPath, 'a non-negative integer', raw);
  }
  return { value: raw, exact: Number.isSafeInteger(raw) };
}

/** An exact count: a non-negative integer no larger than Number.MAX_SAFE_INTEGER. */
export function optCount(obj: Obj, key: string, path: string): number | undefined {
  const read = readUnsigned(obj, key, path);
  if (read === undefined) return undefined;
  if (!read.exact) {
    throw new SmartParseError('bad_field', `${at(path, key)}: ${read.value} is beyond 2^53 and cannot be counted exactly`, at(path, key));
  }
  return read.value;
}

/** A non-negative amount where rounding above 2^53 is harmless (NVMe data units become bytes). */
export function optAmount(obj: Obj, key: string, path: string): number | undefined {
  return readUnsigned(obj, key, path)?.value;
}

/** `amount * unit` (data units to bytes), refused when the product is no longer a finite number. */
export function scaled(amount: number | undefined, unit: number, path: string): number | undefined {
  if (amount === undefined) return undefined;
  const product = amount * unit;
  if (!Number.isFinite(product)) throw badField(path, `a value that fits in a number once multiplied by ${unit}`, amount);
  return product;
}

/**
 * Longest strings kept from smartctl's output, in UTF-16 code units. A string goes into metric
 * labels (repeated on every per-disk series), MQTT topics, /health, the history store and log
 * lines, so a 10 MB `model_name` must not become a 260 MB scrape. Real values are far shorter:
 * ATA IDENTIFY and NVMe Identify Controller hold model/serial/firmware in 40/20/8 bytes, SCSI
 * INQUIRY vendor/product/revision in 8/16/4; Linux device paths rarely pass 64.
 */
export const MAX_LENGTH = {
  /** Model, serial, firmware, vendor, form factor: three times the longest a drive can report. */
  identity: 128,
  /** A device path (`/dev/disk/by-id/…`). */
  device: 256,
  /** `-d` type and protocol (`sat+megaraid,12`). */
  type: 64,
  /** An ATA attribute name from smartctl's drive database (`Reallocated_Sector_Ct`). */
  attributeName: 64,
  /** An attribute's raw value as smartctl renders it (`34 (Min/Max 20/45)`). */
  rawString: 128,
  /** "7.3" */
  version: 32,
  /** One argv entry of smartctl's own command line. */
  argument: 256,
  /** A message of smartctl's quoted in an error or a log line; also all of them joined. */
  message: 500,
  /** Any parse error message, whatever it quotes. */
  error: 1000,
} as const;

/** At most 64 argv entries and 16 messages are kept: smartctl writes a handful. */
export const MAX_ENTRIES = { argv: 64, messages: 16 } as const;

/** `text` cut to at most `max` code units, ending in "…" when cut (never inside a surrogate pair). */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** optString, bounded to `max` characters. */
export function optText(obj: Obj, key: string, path: string, max: number): string | undefined {
  const value = optString(obj, key, path);
  return value === undefined ? undefined : bounded(value, max);
}
