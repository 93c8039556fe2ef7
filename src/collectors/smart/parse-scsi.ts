/**
 * SCSI/SAS log pages as smartctl prints them (scsiprint.cpp): the grown defect list
 * (`scsi_grown_defect_list`), the read/write/verify error counter log pages 0x03/0x02/0x05
 * (`scsi_error_counter_log`) and the start-stop cycle counter page 0x0e
 * (`scsi_start_stop_cycle_counter`).
 */
import { at, badField, field, optCount, optObject, scaled, type Obj } from './json-fields.js';
import type { ScsiData, ScsiErrorCounters } from './reading.js';

const OPERATIONS = ['read', 'write', 'verify'] as const;

/**
 * `gigabytes_processed` is a STRING in smartctl's JSON: scsiprint.cpp formats
 * counter[5] / 1e9 with "%.3f" ("12345.678"). Decimal digits are turned into bytes without
 * going through a binary fraction, so "386.568" is exactly 386568000000 bytes.
 */
function processedBytes(counters: Obj, path: string): number | undefined {
  const key = 'gigabytes_processed';
  const value = field(counters, key);
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return scaled(value, 1e9, at(path, key));
  const match = typeof value === 'string' ? /^([0-9]{1,30})(?:\.([0-9]{1,9}))?$/.exec(value.trim()) : null;
  if (match === null) throw badField(at(path, key), 'a decimal number of gigabytes', value);
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(9, '0'));
  return whole * 1e9 + fraction;
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a + b;
}

function parseErrorCounters(log: Obj, operation: (typeof OPERATIONS)[number]): ScsiErrorCounters | undefined {
  const path = at('scsi_error_counter_log', operation);
  const page = optObject(log, operation, 'scsi_error_counter_log');
  if (page === undefined) return undefined;
  const counters: ScsiErrorCounters = {};
  const uncorrected = optCount(page, 'total_uncorrected_errors', path);
  // ECC corrections without delay (fast) and after extra work (delayed): "Errors Corrected by ECC".
  const ecc = sum(optCount(page, 'errors_corrected_by_eccfast', path), optCount(page, 'errors_corrected_by_eccdelayed', path));
  const corrected = optCount(page, 'total_errors_corrected', path);
  const processed = processedBytes(page, path);
  if (uncorrected !== undefined) counters.totalUncorrectedErrors = uncorrected;
  if (ecc !== undefined) counters.correctedByEcc = ecc;
  if (corrected !== undefined) counters.totalErrorsCorrected = corrected;
  if (processed !== undefined) counters.processedBytes = processed;
  return counters;
}

export function parseScsi(root: Obj): ScsiData | undefined {
  const scsi: ScsiData = {};
  let found = false;
  const grown = optCount(root, 'scsi_grown_defect_list', '');
  if (grown !== undefined) {
    scsi.grownDefects = grown;
    found = true;
  }
  const log = optObject(root, 'scsi_error_counter_log', '');
  if (log !== undefined) {
    found = true;
    for (const operation of OPERATIONS) {
      const counters = parseErrorCounters(log, operation);
      if (counters !== undefined) scsi[operation] = counters;
    }
  }
  const startStop = optObject(root, 'scsi_start_stop_cycle_counter', '');
  if (startStop !== undefined) {
    found = true;
    // smartctl turns the page's parameter names into keys ("Accumulated start-stop cycles").
    const path = 'scsi_start_stop_cycle_counter';
    const starts = optCount(startStop, 'accumulated_start_stop_cycles', path);
    const loads = optCount(startStop, 'accumulated_load_unload_cycles', path);
    if (starts !== undefined) scsi.startStopCycles = starts;
    if (loads !== undefined) scsi.loadUnloadCycles = loads;
  }
  return found ? scsi : undefined;
}
