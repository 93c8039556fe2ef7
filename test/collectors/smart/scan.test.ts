import test from 'ava';
import { parseScanOutput, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError } from '../../../src/collectors/smart/reading.js';
import { readLocal, readShared, restrictedFixtures } from './smartctl-fixtures.js';

const scanError = (text: string) => {
  try {
    parseScanOutput(text);
  } catch (error) {
    if (error instanceof SmartParseError) return { kind: error.kind, message: error.message, path: error.path };
    throw error;
  }
  throw new Error('parseScanOutput accepted it');
};

test('telegraf scans: SAT and NVMe devices, and megaraid members that share one path', (t) => {
  t.deepEqual(parseScanOutput(readLocal('telegraf/testcases_scan__all__response.json')), [
    { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
    { name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' },
    { name: '/dev/nvme1', type: 'nvme', protocol: 'NVMe' },
  ]);
  const megaraid = parseScanOutput(readLocal('telegraf/testcases_scan__megaraid__response.json'));
  t.deepEqual(megaraid.slice(0, 3), [
    { name: '/dev/sda', type: 'scsi', protocol: 'SCSI' },
    { name: '/dev/sdb', type: 'scsi', protocol: 'SCSI' },
    { name: '/dev/sdc', type: 'sat', protocol: 'ATA' },
  ]);
  t.deepEqual(
    megaraid.slice(3),
    [8, 9, 10, 11, 12, 13, 14].map((n) => ({ name: '/dev/bus/6', type: `megaraid,${n}`, protocol: 'SCSI' })),
  );
});

test('netdata and zabbix scans (development checkout only), among them a Windows scan naming an NVMe /dev/sda', (t) => {
  const rows = restrictedFixtures(t);
  if (rows === undefined) return t.pass();
  t.deepEqual(
    rows.filter((row) => row.class === 'scan').map((row) => [row.file, parseScanOutput(readShared(row.file))]),
    [
      ['netdata/type-nvme__scan.json', [{ name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' }]],
      ['netdata/type-sat__scan.json', [{ name: '/dev/sda', type: 'sat', protocol: 'ATA' }, { name: '/dev/sdc', type: 'sat', protocol: 'ATA' }]],
      ['netdata/type-scsi__scan.json', [{ name: '/dev/sda', type: 'scsi', protocol: 'SCSI' }]],
      ['zabbix/scan_basic.json', [{ name: '/dev/sda', type: 'nvme', protocol: 'NVMe' }]],
    ],
  );
});

test('--scan-open: a device smartctl could not open carries its open_error', (t) => {
  // No --scan-open recording exists (see SOURCES.md, "Gaps"); this is the shape smartctl.cpp
  // scan_devices() writes: js_device_info() plus `open_error` from dev->get_errmsg().
  const text = JSON.stringify({
    json_format_version: [1, 0],
    smartctl: { version: [7, 3], argv: ['smartctl', '--scan-open', '--json'], exit_status: 0 },
    devices: [
      { name: '/dev/sda', info_name: '/dev/sda [SAT]', type: 'sat', protocol: 'ATA' },
      { name: '/dev/sdb', info_name: '/dev/sdb', type: 'scsi', protocol: 'SCSI', open_error: 'Permission denied' },
    ],
  });
  t.deepEqual(parseScanOutput(text), [
    { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
    { name: '/dev/sdb', type: 'scsi', protocol: 'SCSI', openError: 'Permission denied' },
  ]);
  t.deepEqual(parseScanOutput('{"smartctl": {"exit_status": 0}, "devices": []}'), []);
});

test('a --scan-open that finds nothing prints no devices key (recorded with smartctl 7.3): an empty list', (t) => {
  t.deepEqual(parseScanOutput(readLocal('harbinger/scan-open-no-devices.json')), []);
  t.throws(() => parseSmartctlOutput(readLocal('harbinger/scan-open-no-devices.json')), { instanceOf: SmartParseError, message: 'a smartctl --scan output (0 devices), not a device reading' });
  // ...but a scan smartctl could not run is not an empty list
  t.deepEqual(scanError('{"smartctl": {"argv": ["smartctl", "--scan-open", "-j", "--bogus"], "exit_status": 1, "messages": [{"string": "unrecognized option", "severity": "error"}]}}'), {
    kind: 'not_smartctl', message: 'smartctl --scan failed: unrecognized option', path: 'smartctl.exit_status',
  });
});

test('what is not a scan: garbage, truncation, a device reading, a top-level array, malformed entries', (t) => {
  t.is(scanError('').kind, 'not_json');
  t.is(scanError('/dev/sda -d sat # /dev/sda [SAT], ATA device').kind, 'not_json'); // --scan without --json
  const scan = readLocal('scrutiny/smartctl_scan_simple.json');
  t.is(scanError(scan.slice(0, scan.length / 2)).kind, 'not_json');
  t.deepEqual(scanError(readLocal('scrutiny/smart-ata2.json')), { kind: 'not_smartctl', message: 'expected smartctl --scan output, got a device reading', path: 'devices' });
  t.is(scanError('[{"name": "/dev/sda"}]').kind, 'not_smartctl');
  t.deepEqual(scanError('{"name": "x"}'), { kind: 'not_smartctl', message: 'expected smartctl --scan output, got JSON without a devices list', path: 'devices' });
  t.deepEqual(scanError('{"devices": {"name": "/dev/sda"}}'), { kind: 'not_smartctl', message: 'devices: expected an array, got an object', path: 'devices' });
  t.deepEqual(scanError('{"devices": [{"name": "/dev/sda", "type": "sat"}, "sdb"]}'), {
    kind: 'not_smartctl',
    message: 'devices[1]: expected a device object, got "sdb"',
    path: 'devices[1]',
  });
  t.deepEqual(scanError('{"devices": [{"name": "/dev/sda"}]}'), { kind: 'not_smartctl', message: 'devices[0].type: expected a device type, got undefined', path: 'devices[0].type' });
  t.is(scanError('{"devices": [{"name": 7, "type": "sat"}]}').path, 'devices[0].name');
});
