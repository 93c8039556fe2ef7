/**
 * NVMe SMART/Health Information log (log page 0x02) as smartctl prints it
 * (nvmeprint.cpp `print_smart_log`: `nvme_smart_health_information_log`).
 * The 128-bit counters may come with `_s`/`_le` companions or as `{"n","s"}` objects:
 * json-fields.ts reads both.
 */
import { at, optAmount, optCount, optInteger, optNumber, optObject, scaled, type Obj } from './json-fields.js';
import type { NvmeData } from './reading.js';

const LOG = 'nvme_smart_health_information_log';

/** NVMe "data units" are thousands of 512-byte units (NVMe base spec, SMART/Health log). */
const DATA_UNIT_BYTES = 512_000;

export interface NvmeResult {
  nvme?: NvmeData;
  /** From the log, for when the top-level fields are missing. */
  temperatureCelsius?: number;
  powerOnHours?: number;
  powerCycles?: number;
}

export function parseNvme(root: Obj): NvmeResult {
  const log = optObject(root, LOG, '');
  if (log === undefined) return healthOnly(root);
  const nvme: NvmeData = {};
  const set = <K extends keyof NvmeData>(key: K, value: NvmeData[K] | undefined) => {
    if (value !== undefined) nvme[key] = value;
  };
  // Bytes of the log: critical warning and the percentages are one byte each.
  set('criticalWarning', optInteger(log, 'critical_warning', LOG, 0, 255));
  set('mediaErrors', optCount(log, 'media_errors', LOG));
  set('availableSpareRatio', ratio(optInteger(log, 'available_spare', LOG, 0, 255)));
  set('availableSpareThresholdRatio', ratio(optInteger(log, 'available_spare_threshold', LOG, 0, 255)));
  // Percentage used may exceed 100 (vendors cap it at 255).
  set('percentageUsedRatio', ratio(optInteger(log, 'percentage_used', LOG, 0, 255)));
  set('unsafeShutdowns', optCount(log, 'unsafe_shutdowns', LOG));
  set('errorLogEntries', optCount(log, 'num_err_log_entries', LOG));
  set('dataReadBytes', scaled(optAmount(log, 'data_units_read', LOG), DATA_UNIT_BYTES, at(LOG, 'data_units_read')));
  set('dataWrittenBytes', scaled(optAmount(log, 'data_units_written', LOG), DATA_UNIT_BYTES, at(LOG, 'data_units_written')));
  const powerCycles = optCount(log, 'power_cycles', LOG);
  set('powerCycles', powerCycles);
  const result: NvmeResult = { nvme };
  const temperature = optNumber(log, 'temperature', LOG);
  const powerOnHours = optCount(log, 'power_on_hours', LOG);
  if (temperature !== undefined) result.temperatureCelsius = temperature;
  if (powerOnHours !== undefined) result.powerOnHours = powerOnHours;
  if (powerCycles !== undefined) result.powerCycles = powerCycles;
  return result;
}

/**
 * `smartctl -H` on NVMe prints no log, only `smart_status.nvme.value`, the critical warning byte
 * (nvmeprint.cpp print_critical_warning). Only an NVMe reading has that key.
 */
function healthOnly(root: Obj): NvmeResult {
  const status = optObject(root, 'smart_status', '');
  const nvme = status && optObject(status, 'nvme', 'smart_status');
  const warning = nvme && optInteger(nvme, 'value', 'smart_status.nvme', 0, 255);
  return warning === undefined ? {} : { nvme: { criticalWarning: warning } };
}

function ratio(percent: number | undefined): number | undefined {
  return percent === undefined ? undefined : percent / 100;
}
