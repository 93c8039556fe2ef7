/**
 * `smartctl --scan --json` and `--scan-open --json`: smartctl.cpp `scan_devices()` writes
 * `devices[i]` with `name`, `info_name`, `type`, `protocol` (js_device_info) and, with
 * `--scan-open`, `open_error` for a device it could not open.
 */
import { messageLine, readEnvelope } from './envelope.js';
import { at, badField, bounded, field, isObj, MAX_LENGTH, optArray, optText, type Obj } from './json-fields.js';
import { parseJsonObject } from './json-text.js';
import { SmartParseError, type ScannedDevice } from './reading.js';

export function parseScanOutput(text: string): ScannedDevice[] {
  try {
    const root = parseJsonObject(text);
    if (field(root, 'devices') === undefined) return noDevices(root);
    return (optArray(root, 'devices', '') ?? []).flatMap((entry, i) => {
      const path = at('devices', i);
      if (entry === null) return [];
      if (!isObj(entry)) throw badField(path, 'a device object', entry);
      const name = optText(entry, 'name', path, MAX_LENGTH.device);
      const type = optText(entry, 'type', path, MAX_LENGTH.type);
      if (name === undefined || name === '') throw badField(at(path, 'name'), 'a device path', field(entry, 'name'));
      if (type === undefined || type === '') throw badField(at(path, 'type'), 'a device type', field(entry, 'type'));
      const device: ScannedDevice = { name, type };
      const protocol = optText(entry, 'protocol', path, MAX_LENGTH.type);
      const openError = optText(entry, 'open_error', path, MAX_LENGTH.message);
      if (protocol !== undefined && protocol !== '') device.protocol = protocol;
      if (openError !== undefined && openError !== '') device.openError = openError;
      return [device];
    });
  } catch (error) {
    // A scan is a list or it is not: a malformed entry makes the whole output "not smartctl's".
    if (error instanceof SmartParseError && error.kind === 'bad_field') throw new SmartParseError('not_smartctl', error.message, error.path);
    if (error instanceof SmartParseError) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new SmartParseError('not_smartctl', `unexpected shape of smartctl --scan output (${reason})`);
  }
}

/**
 * No `devices` key. json.cpp creates an array only when an element is set, so a scan that found
 * nothing prints no `devices` at all (recorded: test/fixtures/smartctl/harbinger/scan-open-no-devices.json).
 * That is an empty list, unless the output is a device reading or smartctl reported a failure.
 */
function noDevices(root: Obj): ScannedDevice[] {
  if (isObj(field(root, 'device'))) throw new SmartParseError('not_smartctl', 'expected smartctl --scan output, got a device reading', 'devices');
  const envelope = readEnvelope(root);
  if (!envelope.hasSmartctlBlock) throw new SmartParseError('not_smartctl', 'expected smartctl --scan output, got JSON without a devices list', 'devices');
  const exit = envelope.exitStatus ?? 0;
  if ((exit & 3) !== 0) {
    const why = messageLine(envelope, `exit status ${exit}`);
    throw new SmartParseError('not_smartctl', `smartctl --scan failed: ${why}`, 'smartctl.exit_status');
  }
  return [];
}
