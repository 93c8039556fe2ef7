import { readFileSync } from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError, type DiskReading, type SmartErrorKind } from '../../../src/collectors/smart/reading.js';
import { localFixtures, restrictedFixtures, readShared, sharedPresent, type FixtureRow } from './smartctl-fixtures.js';

type Outcome = { reading: DiskReading } | { error: SmartParseError };

function parseRow(row: FixtureRow): Outcome {
  try {
    return { reading: parseSmartctlOutput(readFileSync(row.path, 'utf8')) };
  } catch (error) {
    if (error instanceof SmartParseError) return { error };
    throw new Error(`${row.file}: ${String(error)} escaped the parser`);
  }
}

/** What SOURCES.md's class column calls for. */
function expectedKinds(row: FixtureRow): Array<SmartErrorKind | 'reading'> {
  if (row.class === 'error') return ['command_line', 'open_failed'];
  if (row.class === 'scan') return ['scan'];
  // "n/a" outside scans: a RAID logical volume with genuinely no SMART data.
  if (row.health === 'n/a') return ['reading', 'no_smart'];
  return ['reading'];
}

function checkClasses(rows: FixtureRow[]): string[] {
  const wrong: string[] = [];
  for (const row of rows) {
    const outcome = parseRow(row);
    const got = 'reading' in outcome ? 'reading' : outcome.error.kind;
    if (!expectedKinds(row).includes(got)) wrong.push(`${row.file}: class ${row.class} gave ${got}${'error' in outcome ? ` (${outcome.error.message})` : ''}`);
    // The exit column is smartctl.exit_status; "None" is a recording trimmed of its header.
    if ('reading' in outcome) {
      const exit = outcome.reading.exitStatusAssumed ? 'None' : String(outcome.reading.exitStatus.raw);
      if (exit !== row.exit) wrong.push(`${row.file}: exit ${exit}, SOURCES.md says ${row.exit}`);
    }
  }
  return wrong;
}

test('every MIT/Apache recording gives a reading or the error its SOURCES.md class calls for', (t) => {
  const rows = localFixtures();
  t.is(rows.length, 150);
  t.deepEqual(checkClasses(rows), []);
});

test('every GPL/AGPL recording (development checkout only) gives a reading or the error its class calls for', (t) => {
  const rows = restrictedFixtures(t);
  if (rows === undefined) return t.pass();
  t.is(rows.length, 12);
  t.deepEqual(checkClasses(rows), []);
});

function allRows(t: ExecutionContext): FixtureRow[] {
  return [...localFixtures(), ...(restrictedFixtures(t) ?? [])];
}

const readingOf = (row: FixtureRow): DiskReading => {
  const outcome = parseRow(row);
  if ('error' in outcome) throw outcome.error;
  return outcome.reading;
};

test('recordings labelled failing have a failing verdict: SMART failed, exit bit 3, or an NVMe critical warning', (t) => {
  const failing = allRows(t).filter((row) => row.health === 'failing');
  t.true(failing.length >= 1);
  for (const row of failing) {
    const r = readingOf(row);
    t.true(r.smartPassed === false || r.exitStatus.diskFailing || (r.nvme?.criticalWarning ?? 0) !== 0, row.file);
  }
});

/** SOURCES.md evidence tokens (`realloc=1975`) and where the reading keeps that number. */
const EVIDENCE: Record<string, (r: DiskReading) => number | undefined> = {
  realloc: (r) => r.counters.reallocatedSectors,
  realloc_ev: (r) => r.counters.reallocatedEvents,
  pending: (r) => r.counters.pendingSectors,
  offline_unc: (r) => r.counters.offlineUncorrectable,
  reported_unc: (r) => r.counters.reportedUncorrectable,
  udma_crc: (r) => r.counters.udmaCrcErrors,
  media_errors: (r) => r.nvme?.mediaErrors,
  grown_defects: (r) => r.scsi?.grownDefects,
};

test('recordings labelled degraded carry the counter their evidence names, with the value it names', (t) => {
  const rows = allRows(t);
  const degraded = rows.filter((row) => row.health === 'degraded');
  t.true(degraded.length >= 7);
  for (const row of rows) {
    const tokens = [...row.evidence.matchAll(/\b([a-z_]+)=([0-9]+)\b/g)].map((m) => [m[1]!, Number(m[2])] as const);
    if (row.health === 'degraded') t.true(tokens.length > 0, `${row.file}: no evidence token`);
    if (tokens.length === 0) continue;
    const r = readingOf(row);
    for (const [kind, value] of tokens) {
      const pick = EVIDENCE[kind];
      if (pick === undefined) {
        t.fail(`${row.file}: unknown evidence kind ${kind}`);
        continue;
      }
      t.is(pick(r), value, `${row.file}: ${kind}`);
      t.true(value > 0, `${row.file}: ${kind} evidence is nonzero`);
    }
  }
});

/** Nonzero counters of the kinds SOURCES.md's legend calls degraded. */
function degradedSigns(r: DiskReading): string[] {
  const signs = Object.entries(EVIDENCE).flatMap(([kind, pick]) => ((pick(r) ?? 0) > 0 ? [`${kind}=${pick(r)}`] : []));
  const scsiUncorrected = ['read', 'write', 'verify'].reduce((n, op) => n + (r.scsi?.[op as 'read']?.totalUncorrectedErrors ?? 0), 0);
  return scsiUncorrected > 0 ? [...signs, `scsi_uncorrected=${scsiUncorrected}`] : signs;
}

/**
 * Recordings SOURCES.md calls healthy whose data shows a kind its own legend calls degraded.
 * They are labelled from upstream notes, not from every counter: interface CRC errors
 * (cable/backplane trouble, not media) and one drive's reallocation events with no
 * reallocated sector left behind.
 */
const HEALTHY_BUT: Record<string, string[]> = {
  'scrutiny/smart-sat.json': ['realloc_ev=2111'], // "2111 (12437 0)", normalized 98: events, 0 sectors
  'smartctl_exporter/sat-Intel_730_and_DC_S35x0_3610_3700_Series_SSDs-INTEL_SSDSC2BB480G4-sda.json': ['udma_crc=3'],
  'smartctl_exporter/sat-Micron_5100___52x0___5300___5400_SSDs-Micron_5300_MTFDDAK480TDS-sda.json': ['udma_crc=2'],
  'smartctl_exporter/sat-Western_Digital_RE4-WDC_WD1003FBYX-01Y7B0-sda.json': ['udma_crc=644'],
  'smartctl_exporter/sat-Western_Digital_RE4-WDC_WD2003FYYS-02W0B1-sdi.json': ['udma_crc=3118119'],
  'smartctl_exporter/sat-Western_Digital_Ultrastar_DC_HC550-WDC__WUH721816ALE6L4-sdx.json': ['udma_crc=1'],
};

test('recordings labelled healthy have no failing verdict; those whose counters disagree with the label are known', (t) => {
  const disagreements: Record<string, string[]> = {};
  for (const row of allRows(t).filter((r) => r.health === 'healthy')) {
    const r = readingOf(row);
    t.false(r.smartPassed === false || r.exitStatus.diskFailing || (r.nvme?.criticalWarning ?? 0) !== 0, row.file);
    const signs = degradedSigns(r);
    if (signs.length > 0) disagreements[row.file] = signs;
  }
  t.deepEqual(disagreements, HEALTHY_BUT);
});

test('the permission error recording (zabbix, development checkout only) is open_failed with smartctl\'s words', (t) => {
  if (!sharedPresent()) {
    restrictedFixtures(t);
    return t.pass();
  }
  const error = t.throws(() => parseSmartctlOutput(readShared('zabbix/permissions_denied.json')), { instanceOf: SmartParseError });
  t.is(error?.kind, 'open_failed');
  t.is(error?.message, 'Smartctl open device: /dev/sda failed: Permission denied');
  const unknown = t.throws(() => parseSmartctlOutput(readShared('zabbix/3ware,0.json')), { instanceOf: SmartParseError });
  t.is(unknown?.kind, 'command_line');
  t.regex(unknown?.message ?? '', /^\/dev\/sda: Unknown device type '3ware,0'; =======> VALID ARGUMENTS ARE: ata, /);
});
