/**
 * The pure parser of `smartctl --json` output (smartmontools 6.7–7.4): text in, a DiskReading out,
 * or a SmartParseError saying why not. Field names follow smartmontools' own JSON writers
 * (smartctl.cpp, ataprint.cpp, nvmeprint.cpp, scsiprint.cpp, json.cpp), not any one recording.
 */
import { decodeExitStatus } from './exit-status.js';
import { diskId } from './disk-id.js';
import { askedForSmart, detectProtocol, hasIdentity, hasSmartData, messageLine, readEnvelope, type Envelope } from './envelope.js';
import { bounded, field, MAX_LENGTH, optBoolean, optCount, optNumber, optObject, type Obj } from './json-fields.js';
import { parseJsonObject } from './json-text.js';
import { parseAta } from './parse-ata.js';
import { boundIdentity, parseIdentity } from './parse-identity.js';
import { parseNvme } from './parse-nvme.js';
import { parseScsi } from './parse-scsi.js';
import { SmartParseError, type DiskIdentity, type DiskReading } from './reading.js';

export { decodeExitStatus } from './exit-status.js';
export { parseScanOutput } from './parse-scan.js';

export interface GivenDevice {
  /** The path smartctl was given (`/dev/sda`, `/dev/bus/0`). */
  device?: string;
  /** The `-d` type it was given (`sat`, `megaraid,1`). */
  type?: string;
}

export function parseSmartctlOutput(text: string, given: GivenDevice = {}): DiskReading {
  try {
    return parseReading(parseJsonObject(text), given);
  } catch (error) {
    if (error instanceof SmartParseError) throw error;
    // Nothing but SmartParseError leaves this function, whatever the input looked like.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new SmartParseError('not_smartctl', `unexpected shape of smartctl output (${reason})`);
  }
}


/** Decide what the output is before reading any device field. */
function classify(root: Obj, envelope: Envelope): void {
  const data = hasSmartData(root);
  const exit = envelope.exitStatus ?? 0;
  // A scan lists `devices`; one that found nothing has no such key, only its argv says --scan.
  const devices = field(root, 'devices');
  const scanArgv = envelope.argv.some((arg) => arg === '--scan' || arg === '--scan-open');
  if (!data && !envelope.hasDeviceBlock && (Array.isArray(devices) || scanArgv)) {
    const count = Array.isArray(devices) ? devices.length : 0;
    throw new SmartParseError('scan', `a smartctl --scan output (${count} devices), not a device reading`, 'devices');
  }
  // Bits 0 and 1: smartctl got no data. Its own messages say why ("Permission denied",
  // "Unknown device type", "Device is in STANDBY mode").
  if (!data && (exit & 1) !== 0) {
    throw new SmartParseError('command_line', messageLine(envelope, `smartctl rejected its command line (exit status ${exit})`), 'smartctl.exit_status');
  }
  if (!data && (exit & 2) !== 0) {
    throw new SmartParseError('open_failed', messageLine(envelope, `smartctl could not open the device (exit status ${exit})`), 'smartctl.exit_status');
  }
  const signature = envelope.hasSmartctlBlock || field(root, 'json_format_version') !== undefined || envelope.hasDeviceBlock;
  if (!data && !hasIdentity(root) && !signature) {
    throw new SmartParseError('not_smartctl', 'JSON without smartctl, json_format_version, device or SMART data: not smartctl output');
  }
  // Opened, but no SMART at all: RAID logical volumes, VM disks ("SMART support is: Unavailable"),
  // or smartctl was asked for SMART data and printed none. An `--info` run is still a reading.
  if (data) return;
  const support = optObject(root, 'smart_support', '');
  const available = support && optBoolean(support, 'available', 'smart_support');
  const enabled = support && optBoolean(support, 'enabled', 'smart_support');
  const device = envelope.deviceName ?? 'the device';
  if (available === false || enabled === false) {
    const what = available === false ? 'has no SMART support' : 'has SMART disabled';
    throw new SmartParseError('no_smart', `${device} ${what}: no SMART data`, 'smart_support');
  }
  if (envelope.hasDeviceBlock && askedForSmart(envelope.argv)) {
    throw new SmartParseError('no_smart', `${device}: smartctl was asked for SMART data (${envelope.argv.slice(1).join(' ')}) and printed none`, 'smart_status');
  }
}

/** Seagate hard disks pack raw values (see ata-raw.ts); their model numbers start with "ST". */
function isSeagateHdd(root: Obj, identity: DiskIdentity): boolean {
  const family = field(root, 'model_family');
  const seagate = /^ST[0-9]/i.test(identity.model ?? '') || (typeof family === 'string' && /seagate/i.test(family));
  return seagate && identity.rotationRateRpm !== 0;
}

function parseReading(root: Obj, given: GivenDevice): DiskReading {
  const envelope = readEnvelope(root);
  const exitStatus = decodeExitStatus(envelope.exitStatus ?? 0);
  classify(root, envelope);
  const protocol = detectProtocol(root, envelope, given.type);
  if (protocol === undefined) {
    throw new SmartParseError('not_smartctl', 'cannot tell the protocol: no device.protocol, no ATA/NVMe/SCSI section, no known device type', 'device.protocol');
  }
  // The disk id is made from the full strings (so it stays unique when they are cut); everything
  // else sees them bounded (json-fields.ts MAX_LENGTH): labels, MQTT, /health, the history store.
  const fullIdentity = parseIdentity(root, protocol);
  const identity = boundIdentity(fullIdentity);
  const ataPart = parseAta(root, isSeagateHdd(root, identity));
  const nvmePart = parseNvme(root);
  const scsi = parseScsi(root);
  const device = given.device ?? envelope.deviceName;
  const reading: DiskReading = {
    disk: diskId(fullIdentity, device, given.type ?? envelope.deviceType),
    device: device === undefined ? '' : bounded(device, MAX_LENGTH.device),
    protocol,
    identity,
    exitStatus,
    counters: ataPart.counters,
  };
  const deviceType = envelope.deviceType ?? given.type;
  if (deviceType !== undefined) reading.deviceType = bounded(deviceType, MAX_LENGTH.type);
  const status = optObject(root, 'smart_status', '');
  const passed = status && optBoolean(status, 'passed', 'smart_status');
  if (passed !== undefined) reading.smartPassed = passed;
  const temperatureObj = optObject(root, 'temperature', '');
  const temperature = (temperatureObj && optNumber(temperatureObj, 'current', 'temperature')) ?? nvmePart.temperatureCelsius;
  if (temperature !== undefined) reading.temperatureCelsius = temperature;
  const powerOn = powerOnSeconds(root) ?? hoursToSeconds(nvmePart.powerOnHours, `nvme_smart_health_information_log.power_on_hours`);
  if (powerOn !== undefined) reading.powerOnSeconds = powerOn;
  const cycles = optCount(root, 'power_cycle_count', '') ?? nvmePart.powerCycles;
  if (cycles !== undefined) reading.powerCycles = cycles;
  if (envelope.exitStatus === undefined) reading.exitStatusAssumed = true;
  if (envelope.version !== undefined) reading.smartctlVersion = envelope.version;
  if (ataPart.ata !== undefined) reading.ata = ataPart.ata;
  if (nvmePart.nvme !== undefined) reading.nvme = nvmePart.nvme;
  if (scsi !== undefined) reading.scsi = scsi;
  return reading;
}

/** `power_on_time`: `{hours, minutes?}` (ATA from attribute 9 decoded, NVMe, SCSI). */
function powerOnSeconds(root: Obj): number | undefined {
  const time = optObject(root, 'power_on_time', '');
  if (time === undefined) return undefined;
  const hours = optCount(time, 'hours', 'power_on_time');
  const minutes = optCount(time, 'minutes', 'power_on_time');
  if (hours === undefined && minutes === undefined) return undefined;
  const seconds = hoursToSeconds(hours ?? 0, 'power_on_time.hours')! + (minutes ?? 0) * 60;
  if (!Number.isSafeInteger(seconds)) throw new SmartParseError('bad_field', `power_on_time: ${minutes} minutes cannot be counted in seconds`, 'power_on_time.minutes');
  return seconds;
}

function hoursToSeconds(hours: number | undefined, path: string): number | undefined {
  if (hours === undefined) return undefined;
  const seconds = hours * 3600;
  if (!Number.isSafeInteger(seconds)) throw new SmartParseError('bad_field', `${path}: ${hours} hours cannot be counted in seconds`, path);
  return seconds;
}
