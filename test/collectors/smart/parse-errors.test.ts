/**
 * The parser's contract on inputs that are not a clean reading: every one is a SmartParseError
 * with a kind and a path, or a reading where smartctl's schema allows the variation.
 * Inputs are real recordings with one field changed, or shapes taken from smartmontools' source.
 */
import test from 'ava';
import { decodeExitStatus, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError, type DiskReading } from '../../../src/collectors/smart/reading.js';
import { readLocal } from './smartctl-fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutable copies of recordings
type Json = Record<string, any>;
const recording = (file: string): Json => JSON.parse(readLocal(file)) as Json;
const failure = (text: string) => {
  try {
    parseSmartctlOutput(text);
  } catch (error) {
    if (error instanceof SmartParseError) return { kind: error.kind, message: error.message, path: error.path };
    throw error;
  }
  throw new Error('parsed without an error');
};
const edited = (file: string, edit: (json: Json) => void): string => {
  const json = recording(file);
  edit(json);
  return JSON.stringify(json);
};
const NVME = 'scrutiny/smart-nvme-failed.json';
const LOG = 'nvme_smart_health_information_log';

test('not JSON: empty, garbage, text-mode output, truncated output', (t) => {
  t.is(failure('').kind, 'not_json');
  t.is(failure('   \n').kind, 'not_json');
  t.is(failure('smartctl 7.3 2022-02-28 r5338 [x86_64-linux-6.1.0] (local build)\n').kind, 'not_json');
  const text = readLocal('scrutiny/smart-fail2.json');
  for (const cut of [1, 100, text.length / 2, text.length - 3]) t.is(failure(text.slice(0, cut)).kind, 'not_json');
  t.regex(failure('{"smartctl": ').message, /^not JSON \(13 characters\): /);
});

test('JSON that is not smartctl output', (t) => {
  t.deepEqual(failure('[1, 2]'), { kind: 'not_smartctl', message: "smartctl --json prints an object; this is an array", path: undefined });
  t.is(failure('"text"').kind, 'not_smartctl');
  t.is(failure('null').kind, 'not_smartctl');
  t.is(failure('{}').kind, 'not_smartctl');
  t.is(failure('{"name": "something else", "constructor": 1, "__proto__": {"x": 1}}').kind, 'not_smartctl');
  t.is(failure('['.repeat(100_000) + ']'.repeat(100_000)).kind, 'not_smartctl');
  // smartctl output with no device, no data and nothing saying which protocol
  t.is(failure('{"json_format_version": [1, 0], "smartctl": {"exit_status": 0}}').kind, 'not_smartctl');
});

test('wrong types and null where an object belongs are bad_field, with the JSON path', (t) => {
  t.deepEqual(failure(edited('scrutiny/smart-fail2.json', (j) => (j.smart_status = null))), {
    kind: 'bad_field', message: 'smart_status: expected an object, got null', path: 'smart_status',
  });
  t.deepEqual(failure(edited('scrutiny/smart-fail2.json', (j) => (j.ata_smart_attributes.table[3] = 'x'))), {
    kind: 'bad_field', message: 'ata_smart_attributes.table[3]: expected an attribute object, got "x"', path: 'ata_smart_attributes.table[3]',
  });
  t.is(failure(edited('scrutiny/smart-fail2.json', (j) => (j.temperature.current = '25'))).path, 'temperature.current');
  t.is(failure(edited('scrutiny/smart-fail2.json', (j) => (j.power_on_time.hours = -5))).path, 'power_on_time.hours');
  t.is(failure(edited('scrutiny/smart-fail2.json', (j) => (j.ata_smart_attributes.table[4].raw.value = 'many'))).path, 'ata_smart_attributes.table[4].raw.value');
  t.is(failure(edited('scrutiny/smart-fail2.json', (j) => (j.smartctl.exit_status = 300))).path, 'smartctl.exit_status');
  t.is(failure(edited('scrutiny/smart-scsi.json', (j) => (j.scsi_error_counter_log.read.gigabytes_processed = 'lots'))).path, 'scsi_error_counter_log.read.gigabytes_processed');
  t.is(failure(edited(NVME, (j) => (j[LOG].percentage_used = 256))).path, `${LOG}.percentage_used`);
  t.is(failure(edited(NVME, (j) => (j.device = [j.device]))).path, 'device');
});

test('numbers too large: Infinity (1e400) and exact counts beyond 2^53 are bad_field; byte amounts may round', (t) => {
  const text = JSON.stringify(recording(NVME)).replace('"media_errors":7', '"media_errors":1e400');
  t.deepEqual(failure(text), { kind: 'bad_field', message: `${LOG}.media_errors: expected a non-negative integer, got Infinity`, path: `${LOG}.media_errors` });
  const beyond = failure(edited(NVME, (j) => (j[LOG].media_errors = 2 ** 70)));
  t.is(beyond.kind, 'bad_field');
  t.regex(beyond.message, /beyond 2\^53/);
  const r = parseSmartctlOutput(edited(NVME, (j) => (j[LOG].data_units_read = 2 ** 70)));
  t.is(r.nvme?.dataReadBytes, 2 ** 70 * 512_000);
  t.is(failure(edited(NVME, (j) => (j[LOG].data_units_read = 1e308))).path, `${LOG}.data_units_read`); // * 512000 = Infinity
});

test('128-bit NVMe counters: the `_s` companion (smartctl 7.x json.cpp) and the {n, s, le} object (6.x) are read exactly', (t) => {
  // set_unsafe_le128(): number KEY plus decimal KEY_s when the value is beyond 2^53
  const companion = parseSmartctlOutput(
    edited(NVME, (j) => Object.assign(j[LOG], { data_units_written: 1.2089258196146292e24, data_units_written_s: '1208925819614629174706175', media_errors_s: '7' })),
  );
  t.is(companion.nvme?.dataWrittenBytes, Number('1208925819614629174706175') * 512_000);
  t.is(companion.nvme?.mediaErrors, 7);
  t.is(failure(edited(NVME, (j) => (j[LOG].media_errors_s = '9007199254740993'))).kind, 'bad_field');
  t.is(failure(edited(NVME, (j) => (j[LOG].media_errors_s = '-7'))).path, `${LOG}.media_errors_s`);
  const object = parseSmartctlOutput(
    edited(NVME, (j) => {
      j[LOG].data_units_read = { n: 17176794, s: '17176794', le: [218, 25, 6, 1] };
      j.user_capacity.bytes = { n: 500107862016, s: '500107862016' };
    }),
  );
  t.is(object.nvme?.dataReadBytes, 17176794 * 512_000);
  t.is(object.identity.capacityBytes, 500107862016);
});

test('exit bits 0-1 without device data: command_line or open_failed in smartctl\'s words (asleep under -n standby too)', (t) => {
  const standby = {
    json_format_version: [1, 0],
    smartctl: { version: [7, 3], exit_status: 2, messages: [{ string: 'Device is in STANDBY mode, exit(2)', severity: 'information' }] },
    device: { name: '/dev/sdb', info_name: '/dev/sdb [SAT]', type: 'sat', protocol: 'ATA' },
    model_name: 'WDC WD40EFRX-68N32N0',
  };
  t.deepEqual(failure(JSON.stringify(standby)), { kind: 'open_failed', message: 'Device is in STANDBY mode, exit(2)', path: 'smartctl.exit_status' });
  t.deepEqual(failure('{"smartctl": {"exit_status": 1}}'), { kind: 'command_line', message: 'smartctl rejected its command line (exit status 1)', path: 'smartctl.exit_status' });
});

test('a device with no SMART at all (VM disk, RAID logical volume) is no_smart', (t) => {
  const vm = { smartctl: { version: [7, 3], exit_status: 4 }, device: { name: '/dev/sda', type: 'sat', protocol: 'ATA' }, model_name: 'QEMU HARDDISK', serial_number: 'QM00001', smart_support: { available: false } };
  t.deepEqual(failure(JSON.stringify(vm)), { kind: 'no_smart', message: '/dev/sda has no SMART support: no SMART data', path: 'smart_support' });
  const volume = { smartctl: { exit_status: 0 }, device: { name: '/dev/sdb', type: 'scsi', protocol: 'SCSI' }, scsi_vendor: 'AVAGO', scsi_product: 'MR9361-8i', smart_support: { available: true, enabled: false } };
  t.is(failure(JSON.stringify(volume)).kind, 'no_smart');
  // Asked for SMART (-a) and given none, with no smart_support key: a RAID volume all the same
  const lsi = { smartctl: { argv: ['smartctl', '-a', '-j', '/dev/sda'], exit_status: 4 }, device: { name: '/dev/sda', type: 'scsi', protocol: 'SCSI' }, scsi_vendor: 'LSI', scsi_product: 'MR9260-8i' };
  t.deepEqual(failure(JSON.stringify(lsi)), { kind: 'no_smart', message: '/dev/sda: smartctl was asked for SMART data (-a -j /dev/sda) and printed none', path: 'smart_status' });
  // --info only, SMART not asked for: a reading with the identity
  const info: DiskReading = parseSmartctlOutput(readLocal('scrutiny/smartctl_info_nvme.json'));
  t.deepEqual([info.disk, info.protocol, info.identity.capacityBytes, info.nvme], ['KCD61LUL3T84_61Q0A05UT7B8', 'nvme', 3840755982336, undefined]);
});

test('schema variations that are still readings: missing thresholds, raw string only, protocol by type or data', (t) => {
  // ataprint.cpp omits thresh/when_failed when the thresholds are unreadable, value/worst for -v N,...,wv byte orders
  const r = parseSmartctlOutput(edited('scrutiny/smart-fail2.json', (j) => {
    delete j.ata_smart_attributes.table[4].thresh;
    delete j.ata_smart_attributes.table[4].when_failed;
    delete j.ata_smart_attributes.table[4].value;
    delete j.ata_smart_attributes.table[13].raw.value; // 196: "3831" only
  }));
  t.deepEqual(r.ata?.attributes[4], { id: 5, name: 'Reallocated_Sector_Ct', worst: 1, raw: 1975, rawString: '1975', prefailure: true });
  t.is(r.counters.reallocatedEvents, 3831);
  const bridge = parseSmartctlOutput(edited(NVME, (j) => (j.device = { name: '/dev/sdd', type: 'sntjmicron' })), { device: '/dev/sdd' });
  t.deepEqual([bridge.protocol, bridge.deviceType, bridge.nvme?.mediaErrors], ['nvme', 'sntjmicron', 7]);
  const both = parseSmartctlOutput(edited('scrutiny/smart-fail2.json', (j) => (j.device.protocol = 'ATA+SCSI')));
  t.is(both.protocol, 'ata');
  // `smartctl -jH` on NVMe: no health log, the critical warning only in smart_status.nvme (nvmeprint.cpp)
  const health = { smartctl: { argv: ['smartctl', '-jH', '/dev/nvme0'], exit_status: 8 }, device: { name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' }, smart_status: { passed: false, nvme: { value: 4, reliability_degraded: true } } };
  const h = parseSmartctlOutput(JSON.stringify(health));
  t.deepEqual([h.disk, h.smartPassed, h.exitStatus.diskFailing, h.nvme], ['/dev/nvme0;nvme', false, true, { criticalWarning: 4 }]);
});

test('decodeExitStatus: one flag per bit, and only process exit statuses', (t) => {
  t.deepEqual(decodeExitStatus(255), {
    raw: 255, commandLineError: true, deviceOpenFailed: true, commandFailed: true, diskFailing: true,
    prefailBelowThreshold: true, pastBelowThreshold: true, errorLogHasErrors: true, selfTestLogHasErrors: true,
  });
  t.deepEqual(Object.values(decodeExitStatus(0)).slice(1), [false, false, false, false, false, false, false, false]);
  t.true(decodeExitStatus(32).pastBelowThreshold);
  for (const raw of [-1, 256, 1.5, Number.NaN]) t.throws(() => decodeExitStatus(raw), { instanceOf: SmartParseError });
});
