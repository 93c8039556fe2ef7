/**
 * ATA part of `smartctl --json`: the attribute table, the SMART error log count, the self-test
 * log, and the counters the predictor reads (smartd's and Backblaze's usual suspects).
 * Key names: smartmontools ataprint.cpp (`ata_smart_attributes`, `ata_smart_error_log`,
 * `ata_smart_self_test_log`).
 */
import { decodeAtaRaw } from './ata-raw.js';
import { at, badField, bounded, field, isObj, optAmount, optArray, optBoolean, optCount, optInteger, optObject, optString, optText, MAX_LENGTH, type Obj } from './json-fields.js';
import { SmartParseError, type AtaAttribute, type AtaData, type DiskReading } from './reading.js';

type Counters = DiskReading['counters'];

/** Attribute id → counter. The ids smartd warns on and Backblaze's failure studies use. */
const COUNTER_IDS: ReadonlyArray<[number, keyof Counters]> = [
  [5, 'reallocatedSectors'],
  [196, 'reallocatedEvents'],
  [197, 'pendingSectors'],
  [198, 'offlineUncorrectable'],
  [199, 'udmaCrcErrors'],
  [187, 'reportedUncorrectable'],
  [188, 'commandTimeouts'],
];

const WHEN_FAILED = new Set(['', 'now', 'past']);

function parseAttribute(entry: Obj, path: string, seagate: boolean): AtaAttribute {
  const id = optInteger(entry, 'id', path, 1, 255);
  if (id === undefined) throw badField(at(path, 'id'), 'an attribute id', undefined);
  const name = optText(entry, 'name', path, MAX_LENGTH.attributeName);
  if (name === undefined) throw badField(at(path, 'name'), 'an attribute name', undefined);
  // smartctl leaves out `value`/`worst` when the drive database makes those bytes part of the raw
  // value (ATTRFLAG_NO_NORMVAL/NO_WORSTVAL), and `thresh`/`when_failed` when it could not read the
  // thresholds: those stay absent.
  const value = optInteger(entry, 'value', path, 0, 255);
  const worst = optInteger(entry, 'worst', path, 0, 255);
  const thresh = optInteger(entry, 'thresh', path, 0, 255);
  const whenFailed = optString(entry, 'when_failed', path);
  if (whenFailed !== undefined && !WHEN_FAILED.has(whenFailed)) throw badField(at(path, 'when_failed'), '"", "now" or "past"', whenFailed);
  const flags = optObject(entry, 'flags', path);
  const flagsPath = at(path, 'flags');
  // `flags.prefailure` since 7.0; bit 0 of `flags.value` is the same bit (ATA attribute flags).
  const prefailure = flags && (optBoolean(flags, 'prefailure', flagsPath) ?? bitZero(optInteger(flags, 'value', flagsPath, 0, 0xffff)));
  if (prefailure === undefined) throw badField(at(path, 'flags'), 'attribute flags', field(entry, 'flags'));
  const rawObj = optObject(entry, 'raw', path);
  const rawPath = at(path, 'raw');
  if (rawObj === undefined) throw badField(rawPath, 'a raw value', undefined);
  const rawValue = optAmount(rawObj, 'value', rawPath);
  const rawString = optString(rawObj, 'string', rawPath);
  const raw = decodeAtaRaw({ id, seagate, ...(rawValue === undefined ? {} : { value: rawValue }), ...(rawString === undefined ? {} : { text: rawString }) });
  if (raw === undefined || !Number.isFinite(raw)) throw badField(rawPath, 'a raw value or string', field(entry, 'raw'));
  const attribute: AtaAttribute = { id, name, raw, prefailure };
  if (value !== undefined) attribute.value = value;
  if (worst !== undefined) attribute.worst = worst;
  if (thresh !== undefined) attribute.thresh = thresh;
  if (rawString !== undefined) attribute.rawString = bounded(rawString, MAX_LENGTH.rawString);
  if (whenFailed !== undefined) attribute.whenFailed = whenFailed as AtaAttribute['whenFailed'];
  return attribute;
}

function bitZero(value: number | undefined): boolean | undefined {
  return value === undefined ? undefined : (value & 1) === 1;
}

interface Parsed {
  attribute: AtaAttribute;
  path: string;
}

function parseAttributes(root: Obj, seagate: boolean): Parsed[] | undefined {
  const section = optObject(root, 'ata_smart_attributes', '');
  if (section === undefined) return undefined;
  const table = optArray(section, 'table', 'ata_smart_attributes') ?? [];
  const parsed: Parsed[] = [];
  table.forEach((entry, i) => {
    const path = at('ata_smart_attributes.table', i);
    if (entry === null) return; // an unset element of a sparse array (json.cpp prints null)
    if (!isObj(entry)) throw badField(path, 'an attribute object', entry);
    parsed.push({ attribute: parseAttribute(entry, path, seagate), path });
  });
  return parsed;
}

/** Devices' own error count: the summary log (`-l error`) and/or the extended one (`-l xerror`). */
function parseErrorLogCount(root: Obj): number | undefined {
  const log = optObject(root, 'ata_smart_error_log', '');
  if (log === undefined) return undefined;
  const counts = (['summary', 'extended'] as const).map((kind) => {
    const part = optObject(log, kind, 'ata_smart_error_log');
    return part && optCount(part, 'count', at('ata_smart_error_log', kind));
  });
  const present = counts.filter((c): c is number => c !== undefined);
  return present.length > 0 ? Math.max(...present) : undefined;
}

/**
 * Entries of the self-test log whose status says failed. smartctl writes `status.passed` only for
 * completed tests (false for read/electrical/servo/handling failures, fatal errors), not for
 * aborted or interrupted ones. The standard (`-l selftest`) and extended (`-l xselftest`) logs
 * hold the same tests, so the larger count is taken, not the sum.
 */
function parseSelfTestErrors(root: Obj): number | undefined {
  const log = optObject(root, 'ata_smart_self_test_log', '');
  if (log === undefined) return undefined;
  const counts: number[] = [];
  for (const kind of ['standard', 'extended'] as const) {
    const part = optObject(log, kind, 'ata_smart_self_test_log');
    if (part === undefined) continue;
    const partPath = at('ata_smart_self_test_log', kind);
    const table = optArray(part, 'table', partPath) ?? [];
    let failed = 0;
    table.forEach((entry, i) => {
      const path = at(at(partPath, 'table'), i);
      if (entry === null) return;
      if (!isObj(entry)) throw badField(path, 'a self-test entry', entry);
      const status = optObject(entry, 'status', path);
      if (status && optBoolean(status, 'passed', at(path, 'status')) === false) failed += 1;
    });
    counts.push(failed);
  }
  return counts.length > 0 ? Math.max(...counts) : undefined;
}

export interface AtaResult {
  ata?: AtaData;
  counters: Counters;
}

export function parseAta(root: Obj, seagate: boolean): AtaResult {
  const parsed = parseAttributes(root, seagate);
  const errorLogCount = parseErrorLogCount(root);
  const selfTestErrors = parseSelfTestErrors(root);
  const counters: Counters = {};
  for (const [id, key] of COUNTER_IDS) {
    const found = parsed?.find((p) => p.attribute.id === id);
    if (found === undefined) continue;
    // A counter is an exact count: a decoded value that is negative or beyond 2^53 is corrupt.
    const { raw } = found.attribute;
    if (!Number.isSafeInteger(raw) || raw < 0) {
      const path = at(found.path, 'raw');
      throw new SmartParseError('bad_field', `${path}: attribute ${id} decodes to ${raw}, not a count`, path);
    }
    counters[key] = raw;
  }
  if (parsed === undefined && errorLogCount === undefined && selfTestErrors === undefined) return { counters };
  const ata: AtaData = { attributes: parsed?.map((p) => p.attribute) ?? [] };
  if (errorLogCount !== undefined) ata.errorLogCount = errorLogCount;
  if (selfTestErrors !== undefined) ata.selfTestErrors = selfTestErrors;
  return { ata, counters };
}
