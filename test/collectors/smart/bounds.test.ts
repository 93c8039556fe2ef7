import { readFileSync } from 'node:fs';
import test from 'ava';
import { parseScanOutput, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError } from '../../../src/collectors/smart/reading.js';
import { repoPath } from '../../helpers/tmp.js';

const MB = 1024 * 1024;
/** An NVMe recording without a WWN: its disk id is built from model + serial. */
const NVME = repoPath('test/fixtures/smartctl/smartctl_exporter/INTEL_SSDPE2KX080T8_1.json');
const ATA = repoPath('test/fixtures/smartctl/scrutiny/smart-ata-full.json');

function recorded(file: string, edit: (root: Record<string, any>) => void): string {
  const root = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  edit(root);
  return JSON.stringify(root);
}

test('a 1 MB model_name parses into a bounded model and a short, stable, unique disk id', (t) => {
  const long = 'M'.repeat(MB);
  const reading = parseSmartctlOutput(recorded(NVME, (r) => (r.model_name = long)));
  t.true(reading.identity.model!.length <= 128, `model is ${reading.identity.model!.length} characters`);
  t.true(reading.identity.model!.startsWith('MMMM'));
  t.true(reading.identity.model!.endsWith('…'), 'a cut value says it was cut');
  t.true(reading.disk.length <= 128, `disk id is ${reading.disk.length} characters`);
  t.regex(reading.disk, /^[A-Za-z0-9._-]+$/, 'the id is still a clean label value and topic segment');
  // Stable: the same output gives the same id, round after round.
  t.is(parseSmartctlOutput(recorded(NVME, (r) => (r.model_name = long))).disk, reading.disk);
  // Unique: models that differ only past the cut are different disks.
  const other = parseSmartctlOutput(recorded(NVME, (r) => (r.model_name = `${long.slice(0, -1)}N`)));
  t.not(other.disk, reading.disk);
  // Short values are untouched: the ids of every existing disk stay as they were.
  t.is(parseSmartctlOutput(readFileSync(NVME, 'utf8')).disk, 'INTEL_SSDPE2KX080T8_REDACTED');
});

test('serial, firmware, device name and type, attribute names and the version are bounded at parse time', (t) => {
  const reading = parseSmartctlOutput(
    recorded(ATA, (r) => {
      r.serial_number = 'S'.repeat(MB);
      r.firmware_version = 'F'.repeat(MB);
      r.form_factor = { name: 'X'.repeat(MB) };
      r.device.name = `/dev/${'d'.repeat(MB)}`;
      r.device.type = 't'.repeat(MB);
      r.ata_smart_attributes.table[0].name = 'A'.repeat(MB);
      r.ata_smart_attributes.table[0].raw.string = `0 ${'R'.repeat(MB)}`;
      r.smartctl.version = Array.from({ length: 200_000 }, () => 7);
    }),
  );
  t.true(reading.identity.serial!.length <= 128);
  t.true(reading.identity.firmware!.length <= 128);
  t.true(reading.identity.formFactor!.length <= 128);
  t.true(reading.device.length <= 256);
  t.true(reading.deviceType!.length <= 64);
  t.true(reading.ata!.attributes[0]!.name.length <= 64);
  t.true(reading.ata!.attributes[0]!.rawString!.length <= 128);
  t.true(reading.smartctlVersion!.length <= 32);
  t.true(JSON.stringify(reading).length < 8 * 1024, `the whole reading is ${JSON.stringify(reading).length} characters`);
});

test("smartctl's own messages are quoted at most 500 characters long in a parse error", (t) => {
  const text = JSON.stringify({
    json_format_version: [1, 0],
    smartctl: { version: [7, 3], exit_status: 2, messages: Array.from({ length: 50 }, () => ({ string: 'E'.repeat(MB / 10), severity: 'error' })) },
    device: { name: '/dev/sda', type: 'sat', protocol: 'ATA' },
  });
  const error = t.throws(() => parseSmartctlOutput(text), { instanceOf: SmartParseError })!;
  t.is(error.kind, 'open_failed');
  t.true(error.message.length <= 500, `message is ${error.message.length} characters`);
  t.true(error.message.endsWith('…'));
});

test('a scan entry with huge strings gives bounded device names, types and open errors', (t) => {
  const [device] = parseScanOutput(
    JSON.stringify({
      json_format_version: [1, 0],
      smartctl: { version: [7, 3], exit_status: 0 },
      devices: [{ name: `/dev/${'s'.repeat(MB)}`, type: 'x'.repeat(MB), protocol: 'ATA', open_error: 'o'.repeat(MB) }],
    }),
  );
  t.true(device!.name.length <= 256);
  t.true(device!.type.length <= 64);
  t.true(device!.openError!.length <= 500);
});
