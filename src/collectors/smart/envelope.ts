/**
 * What every `smartctl --json` output carries around the device data: the `smartctl` block
 * (version, exit status, messages) and the `device` block (name, type, protocol), and the tests
 * that tell a device reading from a scan, an error, or something that is not smartctl's at all.
 */
import { at, badField, bounded, field, isObj, MAX_ENTRIES, MAX_LENGTH, optArray, optInteger, optObject, optString, optText, type Obj } from './json-fields.js';
import type { Protocol } from './reading.js';

export interface Envelope {
  /** `smartctl.exit_status`; undefined when the output has none (a hand-trimmed recording). */
  exitStatus?: number;
  /** "7.3" from `smartctl.version: [7, 3]`. */
  version?: string;
  /** `smartctl.messages[].string`, errors first. */
  messages: string[];
  /** `smartctl.argv`: how smartctl was run. */
  argv: string[];
  deviceName?: string;
  deviceType?: string;
  deviceProtocol?: string;
  hasSmartctlBlock: boolean;
  hasDeviceBlock: boolean;
}

export function readEnvelope(root: Obj): Envelope {
  const smartctl = optObject(root, 'smartctl', '');
  const envelope: Envelope = { messages: [], argv: [], hasSmartctlBlock: smartctl !== undefined, hasDeviceBlock: false };
  if (smartctl !== undefined) {
    const exit = optInteger(smartctl, 'exit_status', 'smartctl', 0, 255);
    if (exit !== undefined) envelope.exitStatus = exit;
    const version = optArray(smartctl, 'version', 'smartctl');
    if (version !== undefined) {
      if (!version.every((n) => Number.isInteger(n) && (n as number) >= 0)) throw badField('smartctl.version', 'an array of integers', version);
      envelope.version = bounded(version.slice(0, MAX_LENGTH.version).join('.'), MAX_LENGTH.version);
    }
    envelope.messages = readMessages(smartctl);
    envelope.argv = (optArray(smartctl, 'argv', 'smartctl') ?? [])
      .filter((arg): arg is string => typeof arg === 'string')
      .slice(0, MAX_ENTRIES.argv)
      .map((arg) => bounded(arg, MAX_LENGTH.argument));
  }
  const device = optObject(root, 'device', '');
  if (device !== undefined) {
    envelope.hasDeviceBlock = true;
    const name = optText(device, 'name', 'device', MAX_LENGTH.device);
    const type = optText(device, 'type', 'device', MAX_LENGTH.type);
    const protocol = optText(device, 'protocol', 'device', MAX_LENGTH.type);
    if (name !== undefined && name !== '') envelope.deviceName = name;
    if (type !== undefined && type !== '') envelope.deviceType = type;
    if (protocol !== undefined) envelope.deviceProtocol = protocol;
  }
  return envelope;
}

function readMessages(smartctl: Obj): string[] {
  const list = optArray(smartctl, 'messages', 'smartctl') ?? [];
  const errors: string[] = [];
  const others: string[] = [];
  list.forEach((entry, i) => {
    const path = at('smartctl.messages', i);
    if (!isObj(entry)) throw badField(path, 'a message object', entry);
    const text = optString(entry, 'string', path);
    if (text === undefined || text.trim() === '') return;
    (optString(entry, 'severity', path) === 'error' ? errors : others).push(bounded(text.trim(), MAX_LENGTH.message));
  });
  return [...errors, ...others].slice(0, MAX_ENTRIES.messages);
}

/** smartctl's messages as one quotable line (at most MAX_LENGTH.message), or `fallback` when it printed none. */
export function messageLine(envelope: Envelope, fallback: string): string {
  return envelope.messages.length > 0 ? bounded(envelope.messages.join('; '), MAX_LENGTH.message) : fallback;
}

/**
 * Whether smartctl was asked for SMART data: `-a`/`--all`, `-x`/`--xall`, `-H`/`--health`,
 * `-A`/`--attributes`, alone or in a bundle of short options (`-jA`). An `--info` run is not.
 */
export function askedForSmart(argv: readonly string[]): boolean {
  return argv.slice(1).some((arg) => {
    if (/^--(all|xall|health|attributes)$/.test(arg)) return true;
    return /^-[a-zA-Z]+$/.test(arg) && /[axHA]/.test(arg.slice(1));
  });
}

/** Keys that hold measurements; a reading without any of them has no SMART data. */
const DATA_KEYS = [
  'smart_status',
  'ata_smart_attributes',
  'ata_smart_error_log',
  'ata_smart_self_test_log',
  'nvme_smart_health_information_log',
  'scsi_grown_defect_list',
  'scsi_error_counter_log',
  'scsi_start_stop_cycle_counter',
  'temperature',
  'power_on_time',
  'power_cycle_count',
];

const IDENTITY_KEYS = ['model_name', 'serial_number', 'wwn', 'firmware_version', 'scsi_vendor', 'scsi_product', 'scsi_model_name', 'vendor', 'product', 'logical_unit_id'];

export const hasSmartData = (root: Obj): boolean => DATA_KEYS.some((key) => field(root, key) !== undefined);
export const hasIdentity = (root: Obj): boolean => IDENTITY_KEYS.some((key) => field(root, key) !== undefined);

const PROTOCOLS: Record<string, Protocol> = { ata: 'ata', nvme: 'nvme', scsi: 'scsi' };

/**
 * `device.protocol` first (smartctl's own "ATA", "NVMe", "SCSI"; a USB or RAID bridge reports
 * what it carries: `sntjmicron` is NVMe, `sat` over USB and `sat+megaraid,N` are ATA); then what
 * the output holds; then the `-d` type.
 */
export function detectProtocol(root: Obj, envelope: Envelope, givenType: string | undefined): Protocol | undefined {
  // smartctl.cpp get_protocol_info(): "ATA", "SCSI", "NVMe", also "ATA+SCSI" and "Unknown".
  const named = (envelope.deviceProtocol ?? '').split('+').flatMap((p) => PROTOCOLS[p.trim().toLowerCase()] ?? []);
  if (named.length === 1) return named[0];
  const has = (...keys: string[]) => keys.some((key) => field(root, key) !== undefined);
  if (has('nvme_smart_health_information_log', 'nvme_total_capacity', 'nvme_pci_vendor', 'nvme_version')) return 'nvme';
  if (has('ata_smart_attributes', 'ata_smart_error_log', 'ata_smart_self_test_log', 'ata_version', 'sata_version', 'wwn')) return 'ata';
  if (has('scsi_grown_defect_list', 'scsi_error_counter_log', 'scsi_start_stop_cycle_counter', 'scsi_vendor', 'scsi_version', 'logical_unit_id')) return 'scsi';
  return named[0] ?? protocolOfType(envelope.deviceType ?? givenType);
}

/** smartctl's `-d` types (smartctl(8)): which protocol each speaks. */
function protocolOfType(type: string | undefined): Protocol | undefined {
  if (type === undefined) return undefined;
  const t = type.toLowerCase();
  if (/^(nvme|snt)/.test(t)) return 'nvme';
  if (/^(ata|sat|usb|3ware|areca|hpt|marvell|jmb39x|jms56x|intelliprop)/.test(t)) return 'ata';
  if (/^(scsi|megaraid|cciss|aacraid)/.test(t)) return 'scsi';
  return undefined;
}
