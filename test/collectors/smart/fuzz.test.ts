/**
 * Deterministic fuzzing of the parsers with mutated real recordings: truncation, deleted keys,
 * values swapped for other types, huge and negative numbers, NaN-ish strings, deep nesting.
 * Every outcome must be a DiskReading with only finite, non-negative numbers (temperatures
 * aside) or a SmartParseError, never another exception. The seed makes failures reproducible.
 */
import test from 'ava';
import { parseScanOutput, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError, type DiskReading } from '../../../src/collectors/smart/reading.js';
import { readLocal } from './smartctl-fixtures.js';

/** mulberry32: a tiny seeded PRNG, so every run mutates the same way. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HUGE = '__fuzz_huge__';
const NEG_HUGE = '__fuzz_neg_huge__';
const DEEP = '__fuzz_deep__';
const REPLACEMENTS: unknown[] = [
  0, -1, -12345, 0.5, 2 ** 53 + 2, 2 ** 70, 1e308, -1e308, '', 'abc', 'NaN', 'Infinity', '-1', '1e999', '0x10',
  '12345.678', '-5 (Min/Max 1/2)', null, true, false, [], {}, [1, 'a', null], { n: 1 }, { s: 'x' }, { n: -1, s: '-1' },
  { n: 2 ** 70, s: '1180591620717411303424' }, HUGE, NEG_HUGE, DEEP,
];

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

function slots(root: unknown): Slot[] {
  const found: Slot[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((child, i) => (found.push({ parent: node, key: i }), walk(child)));
    else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) found.push({ parent: node as Record<string, unknown>, key }), walk(child);
    }
  };
  walk(root);
  return found;
}

function mutate(text: string, random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const json: unknown = JSON.parse(text);
  const operations = 1 + Math.floor(random() * 3);
  let textOps = 0;
  for (let i = 0; i < operations; i++) {
    const op = pick(['delete', 'delete', 'retype', 'retype', 'retype', 'number', 'number', 'truncate', 'byte'] as const);
    if (op === 'truncate' || op === 'byte') {
      textOps += 1;
      continue;
    }
    const all = slots(json);
    if (all.length === 0) break;
    const { parent, key } = pick(all);
    const target = parent as Record<string | number, unknown>;
    if (op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete target[key];
    } else if (op === 'retype') target[key] = structuredClone(pick(REPLACEMENTS)); // a copy: later ops may mutate it
    else if (typeof target[key] === 'number') target[key] = pick([-(target[key] as number) - 1, (target[key] as number) * 2 ** 40, HUGE, 0.25]);
  }
  let out = JSON.stringify(json)
    .replaceAll(`"${HUGE}"`, '1e400')
    .replaceAll(`"${NEG_HUGE}"`, '-1e400')
    .replaceAll(`"${DEEP}"`, () => {
      const depth = 1000 + Math.floor(random() * 20000);
      return '['.repeat(depth) + ']'.repeat(depth);
    });
  for (let i = 0; i < textOps; i++) {
    const at = Math.floor(random() * out.length);
    out = random() < 0.5 ? out.slice(0, at) : out.slice(0, at) + pick(['{', '}', '"', '9', '-', 'e', ',', ' ', 'null']) + out.slice(at + 1);
  }
  return out;
}

/** Numbers that must not be in a reading: NaN, ±Infinity, or negative outside a temperature. */
function badNumbers(value: unknown, path: string, negativeAllowed: boolean, out: string[]): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || (value < 0 && !negativeAllowed)) out.push(`${path} = ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => badNumbers(v, `${path}[${i}]`, false, out));
  } else if (typeof value === 'object' && value !== null) {
    // A temperature attribute's decoded raw value is a temperature (see reading.ts AtaAttribute.raw).
    const rawString = (value as { rawString?: unknown }).rawString;
    const coldAttribute = typeof rawString === 'string' && rawString.trim().startsWith('-');
    for (const [key, v] of Object.entries(value)) {
      badNumbers(v, path === '' ? key : `${path}.${key}`, key === 'temperatureCelsius' || (key === 'raw' && coldAttribute), out);
    }
  }
}

const KINDS = new Set(['not_json', 'not_smartctl', 'bad_field', 'command_line', 'open_failed', 'no_smart', 'scan']);

/** Runs one parse; returns what came out ('reading', 'scan list' or an error kind) and notes problems. */
function check(run: () => unknown, label: string, problems: string[]): string {
  try {
    const result = run();
    const bad: string[] = [];
    badNumbers(result, '', false, bad);
    if (bad.length > 0) problems.push(`${label}: ${bad.slice(0, 3).join(', ')}`);
    if (Array.isArray(result)) return 'scan list';
    if (typeof (result as DiskReading).disk !== 'string' || (result as DiskReading).disk === '') problems.push(`${label}: no disk id`);
    return 'reading';
  } catch (error) {
    if (!(error instanceof SmartParseError)) problems.push(`${label}: ${String(error)} escaped`);
    else if (!KINDS.has(error.kind) || error.message === '') problems.push(`${label}: bad error ${error.kind} "${error.message}"`);
    // The parser turns an internal TypeError into not_smartctl "unexpected shape": that is a bug here.
    else if (error.message.startsWith('unexpected shape')) problems.push(`${label}: ${error.message}`);
    return error instanceof SmartParseError ? error.kind : 'escaped';
  }
}

const DEVICE_SAMPLES = [
  'scrutiny/smart-fail2.json',
  'scrutiny/smart-nvme-failed.json',
  'scrutiny/smart-scsi.json',
  'scrutiny/smart-scsi2.json',
  'scrutiny/smart-megaraid1.json',
  'scrutiny/smart-ata-full.json',
  'scrutiny/smart-sat.json',
  'scrutiny/smart-pass.json',
  'scrutiny/smart-fail.json',
  'telegraf/testcases_device__usb__response.json',
  'telegraf/testcases_device__scsi__response.json',
  'smartctl_exporter/HP_73.4G_MAS3735NC_25.json',
  'smartctl_exporter/SAMSUNG_MZVL21T0HCLR-00B00_23.json',
  'smartctl_exporter/sat-Seagate_Enterprise_Capacity_3.5_HDD-ST2000NM0008-2F3100-sdl.json',
];
const SCAN_SAMPLES = ['scrutiny/smartctl_scan_simple.json', 'telegraf/testcases_scan__megaraid__response.json'];
const PER_FIXTURE = 500;

test(`fuzzed recordings (${DEVICE_SAMPLES.length} x ${PER_FIXTURE} device, ${SCAN_SAMPLES.length} x ${PER_FIXTURE} scan mutations) give readings or SmartParseErrors only`, (t) => {
  const started = Date.now();
  const problems: string[] = [];
  const outcomes = new Map<string, number>();
  let cases = 0;
  for (const [index, file] of [...DEVICE_SAMPLES, ...SCAN_SAMPLES].entries()) {
    const scan = SCAN_SAMPLES.includes(file);
    const original = readLocal(file);
    const random = mulberry32(0x5eed + index);
    for (let i = 0; i < PER_FIXTURE; i++) {
      const text = mutate(original, random);
      const kind = check(() => (scan ? parseScanOutput(text) : parseSmartctlOutput(text)), `${file} #${i}`, problems);
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
      cases += 1;
    }
  }
  t.log(`${cases} mutations in ${Date.now() - started} ms:`, Object.fromEntries(outcomes));
  t.true(cases >= 8000);
  t.deepEqual(problems.slice(0, 10), []);
  // The mutations must exercise both sides: plenty of readings and plenty of errors.
  t.true((outcomes.get('reading') ?? 0) > 1000);
  t.true((outcomes.get('bad_field') ?? 0) > 500);
});

test('non-string input is not_json, not a TypeError', (t) => {
  for (const input of [undefined, null, 42, {}, Buffer.from('{}')]) {
    t.throws(() => parseSmartctlOutput(input as unknown as string), { instanceOf: SmartParseError, message: /expected smartctl's output as text/ });
    t.throws(() => parseScanOutput(input as unknown as string), { instanceOf: SmartParseError });
  }
});

test('the fuzz checker itself notices NaN, Infinity, negative counts and escaped exceptions', (t) => {
  const problems: string[] = [];
  check(() => ({ disk: 'd', counters: { pendingSectors: Number.NaN } }), 'nan', problems);
  check(() => ({ disk: 'd', nvme: { dataReadBytes: Number.POSITIVE_INFINITY } }), 'inf', problems);
  check(() => ({ disk: 'd', counters: { reallocatedSectors: -1 } }), 'negative', problems);
  check(() => ({ disk: 'd', temperatureCelsius: -5, ata: { attributes: [{ raw: -5, rawString: '-5 (Min/Max -9/30)' }] } }), 'cold', problems);
  check(() => {
    throw new TypeError('x is undefined');
  }, 'escaped', problems);
  t.deepEqual(problems, ['nan: counters.pendingSectors = NaN', 'inf: nvme.dataReadBytes = Infinity', 'negative: counters.reallocatedSectors = -1', 'escaped: TypeError: x is undefined escaped']);
});
