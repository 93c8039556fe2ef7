/**
 * Exact readings of representative recordings. Every expected value below was worked out by hand
 * from the recording's JSON (arithmetic in the comments), not copied from the parser's output.
 */
import test from 'ava';
import { decodeExitStatus, parseScanOutput, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { SmartParseError, type AtaAttribute, type DiskReading } from '../../../src/collectors/smart/reading.js';
import { readLocal } from './smartctl-fixtures.js';

const parse = (file: string, given?: { device?: string; type?: string }) => parseSmartctlOutput(readLocal(file), given);

/** The reading without its attribute table (checked separately where it matters). */
function withoutAttributes(r: DiskReading): DiskReading {
  return r.ata ? { ...r, ata: { ...r.ata, attributes: [] } } : r;
}

const attr = (id: number, name: string, value: number, worst: number, thresh: number, raw: number, rawString: string, prefailure: boolean, whenFailed: AtaAttribute['whenFailed'] = ''): AtaAttribute => ({
  id, name, value, worst, thresh, raw, rawString, prefailure, whenFailed,
});

const attributeById = (r: DiskReading, id: number) => r.ata?.attributes.find((a) => a.id === id);

test('failing Hitachi behind a USB JMicron bridge (scrutiny/smart-fail2.json): exit 216, SMART failed, 1975 reallocated', (t) => {
  const r = parse('scrutiny/smart-fail2.json');
  // wwn: naa 5, oui 3274 = 0x000cca, id 15028879784 = 3 * 2^32 + 0x7fca81a8 = 0x37fca81a8
  t.deepEqual(withoutAttributes(r), {
    disk: 'wwn-5000cca37fca81a8',
    device: '/dev/sdc',
    deviceType: 'usbjmicron',
    protocol: 'ata',
    identity: { model: 'Hitachi HDS721050DLE630', serial: 'MSK423Y20S3HBC', wwn: '5000cca37fca81a8', firmware: 'MS1OA650', capacityBytes: 500107862016, rotationRateRpm: 7200, formFactor: '3.5 inches' },
    smartPassed: false,
    temperatureCelsius: 25,
    powerOnSeconds: 65592 * 3600,
    powerCycles: 86,
    // 216 = 128 + 64 + 16 + 8
    exitStatus: { raw: 216, commandLineError: false, deviceOpenFailed: false, commandFailed: false, diskFailing: true, prefailBelowThreshold: true, pastBelowThreshold: false, errorLogHasErrors: true, selfTestLogHasErrors: true },
    smartctlVersion: '7.1',
    counters: { reallocatedSectors: 1975, reallocatedEvents: 3831, pendingSectors: 8, offlineUncorrectable: 0, udmaCrcErrors: 0 },
    // error log summary count 56; three "Completed: read failure" self-tests (passed: false)
    ata: { attributes: [], errorLogCount: 56, selfTestErrors: 3 },
  });
  t.deepEqual(r.ata?.attributes, [
    attr(1, 'Raw_Read_Error_Rate', 100, 100, 16, 0, '0', true),
    attr(2, 'Throughput_Performance', 136, 136, 54, 91, '91', true),
    attr(3, 'Spin_Up_Time', 125, 125, 24, 180, '180 (Average 187)', true), // raw16(avg16): the low word
    attr(4, 'Start_Stop_Count', 100, 100, 0, 86, '86', false),
    attr(5, 'Reallocated_Sector_Ct', 1, 1, 5, 1975, '1975', true, 'now'),
    attr(7, 'Seek_Error_Rate', 100, 100, 67, 0, '0', true),
    attr(8, 'Seek_Time_Performance', 118, 118, 20, 33, '33', true),
    attr(9, 'Power_On_Hours', 91, 91, 0, 65592, '65592', false),
    attr(10, 'Spin_Retry_Count', 100, 100, 60, 0, '0', true),
    attr(12, 'Power_Cycle_Count', 100, 100, 0, 86, '86', false),
    attr(192, 'Power-Off_Retract_Count', 95, 95, 0, 6244, '6244', false),
    attr(193, 'Load_Cycle_Count', 95, 95, 0, 6244, '6244', false),
    attr(194, 'Temperature_Celsius', 240, 240, 0, 25, '25 (Min/Max 19/39)', false), // not 167504969753
    attr(196, 'Reallocated_Event_Count', 1, 1, 0, 3831, '3831', false),
    attr(197, 'Current_Pending_Sector', 100, 100, 0, 8, '8', false),
    attr(198, 'Offline_Uncorrectable', 100, 100, 0, 0, '0', false),
    attr(199, 'UDMA_CRC_Error_Count', 200, 200, 0, 0, '0', false),
  ]);
});

test('two megaraid members behind one path (scrutiny/smart-megaraid0.json, -1.json) get different disk ids', (t) => {
  const zero = parse('scrutiny/smart-megaraid0.json', { device: '/dev/sda', type: 'megaraid,0' });
  const one = parse('scrutiny/smart-megaraid1.json', { device: '/dev/sda', type: 'megaraid,1' });
  const identity = { model: 'WD4000FYYX', serial: 'XXXXXXXXXXXX', firmware: '00.0D1K4', capacityBytes: 4000787030016, rotationRateRpm: 7200, formFactor: '3.5 inches' };
  // exit 4: "some command failed" (the passthrough), the data is still valid
  const exitStatus = { ...decodeExitStatus(0), raw: 4, commandFailed: true };
  // oui 5358 = 0x0014ee; ids 10217451239 = 2 * 2^32 + 0x6101eee7 and 11649125727 = 2 * 2^32 + 0xb6578d5f
  t.deepEqual(withoutAttributes(zero), {
    disk: 'wwn-50014ee26101eee7',
    device: '/dev/sda',
    deviceType: 'sat+megaraid,0',
    protocol: 'ata',
    identity: { ...identity, wwn: '50014ee26101eee7' },
    smartPassed: true,
    temperatureCelsius: 36,
    powerOnSeconds: 37787 * 3600,
    powerCycles: 70,
    exitStatus,
    smartctlVersion: '7.1',
    counters: { reallocatedSectors: 0, reallocatedEvents: 0, pendingSectors: 0, offlineUncorrectable: 0, udmaCrcErrors: 0 },
    ata: { attributes: [], errorLogCount: 0, selfTestErrors: 0 },
  });
  t.deepEqual(withoutAttributes(one), {
    disk: 'wwn-50014ee2b6578d5f',
    device: '/dev/sda',
    deviceType: 'sat+megaraid,1',
    protocol: 'ata',
    identity: { ...identity, wwn: '50014ee2b6578d5f' },
    smartPassed: true,
    temperatureCelsius: 36,
    powerOnSeconds: 37788 * 3600,
    powerCycles: 68,
    exitStatus,
    smartctlVersion: '7.1',
    counters: { reallocatedSectors: 387, reallocatedEvents: 9, pendingSectors: 0, offlineUncorrectable: 0, udmaCrcErrors: 0 },
    // an "Aborted by host" entry has no `passed`: not an error
    ata: { attributes: [], errorLogCount: 0, selfTestErrors: 0 },
  });
  t.deepEqual(attributeById(one, 194), attr(194, 'Temperature_Celsius', 116, 101, 0, 36, '36 (Min/Max 0/51)', false));
  // Without WWN and serial the members still differ, by the type they were read with.
  const anonymous = (file: string, type: string) => {
    const json = JSON.parse(readLocal(file)) as Record<string, unknown>;
    delete json.wwn;
    delete json.serial_number;
    return parseSmartctlOutput(JSON.stringify(json), { device: '/dev/bus/0', type }).disk;
  };
  t.is(anonymous('scrutiny/smart-megaraid0.json', 'megaraid,0'), '/dev/bus/0;megaraid,0');
  t.is(anonymous('scrutiny/smart-megaraid1.json', 'megaraid,1'), '/dev/bus/0;megaraid,1');
});

test('USB SSD through a SAT bridge (telegraf/testcases_device__usb__response.json): no temperature reported', (t) => {
  const r = parse('telegraf/testcases_device__usb__response.json');
  // oui 6980 = 0x001b44, id 2674672716 = 0x09f6c444c
  t.deepEqual(withoutAttributes(r), {
    disk: 'wwn-5001b4409f6c444c',
    device: '/dev/sda',
    deviceType: 'sat',
    protocol: 'ata',
    identity: { model: 'SanDisk pSSD', serial: '06c9f4c44', wwn: '5001b4409f6c444c', firmware: '3', capacityBytes: 15693664256, rotationRateRpm: 0, formFactor: '1.8 inches' },
    smartPassed: true,
    powerOnSeconds: 11 * 3600,
    powerCycles: 223,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.4',
    counters: { reallocatedSectors: 0, reportedUncorrectable: 0 },
    ata: { attributes: [], errorLogCount: 0, selfTestErrors: 0 },
  });
  t.deepEqual(r.ata?.attributes, [
    attr(5, 'Reallocated_Sector_Ct', 100, 100, 0, 0, '0', false),
    attr(9, 'Power_On_Hours', 100, 100, 0, 11, '11', false),
    attr(12, 'Power_Cycle_Count', 100, 100, 0, 223, '223', false),
    attr(171, 'Program_Fail_Count', 100, 100, 0, 0, '0', false),
    attr(172, 'Erase_Fail_Count', 100, 100, 0, 0, '0', false),
    attr(173, 'Avg_Write/Erase_Count', 100, 100, 0, 3, '3', false),
    attr(174, 'Unexpect_Power_Loss_Ct', 100, 100, 0, 114, '114', false),
    attr(187, 'Reported_Uncorrect', 100, 100, 0, 0, '0', false),
    attr(230, 'Perc_Write/Erase_Count', 100, 100, 0, 10, '10', false),
    attr(232, 'Perc_Avail_Resrvd_Space', 100, 100, 5, 0, '0', true),
    attr(234, 'Perc_Write/Erase_Ct_BC', 100, 100, 0, 0, '0', false),
    attr(241, 'Total_LBAs_Written', 100, 100, 0, 10171055, '10171055', false),
    attr(242, 'Total_LBAs_Read', 100, 100, 0, 94845144, '94845144', false),
  ]);
});

test('health-only output (scrutiny/smart-pass.json, `-jH`): no identity, so the disk is its path and type', (t) => {
  t.deepEqual(parse('scrutiny/smart-pass.json'), {
    disk: '/dev/sdc;sat',
    device: '/dev/sdc',
    deviceType: 'sat',
    protocol: 'ata',
    identity: {},
    smartPassed: true,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.0',
    counters: {},
  });
});

test('Windows open error (scrutiny/smart-fail.json): open_failed with smartctl\'s own message', (t) => {
  const error = t.throws(() => parse('scrutiny/smart-fail.json'), { instanceOf: SmartParseError });
  t.is(error?.kind, 'open_failed');
  t.is(error?.message, 'Smartctl open device: /dev/sda failed: \\\\.\\PhysicalDrive0: Open failed, Error=5');
  t.is(error?.path, 'smartctl.exit_status');
});

test('errors recorded with the real smartctl 7.3 on a VM (harbinger/): a Linux permission error and an untyped disk', (t) => {
  const denied = t.throws(() => parse('harbinger/vda-sat-operation-not-permitted.json'), { instanceOf: SmartParseError });
  t.deepEqual([denied?.kind, denied?.message], ['open_failed', 'Smartctl open device: /dev/vda [SAT] failed: Operation not permitted']);
  const untyped = t.throws(() => parse('harbinger/vda-unable-to-detect-type.json'), { instanceOf: SmartParseError });
  t.deepEqual([untyped?.kind, untyped?.message], ['command_line', '/dev/vda: Unable to detect device type']);
});

test('scan outputs (scrutiny/smartctl_scan_simple.json, smartctl_scan_nvme.json): devices, and kind scan for the device parser', (t) => {
  const letters = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  t.deepEqual(
    parseScanOutput(readLocal('scrutiny/smartctl_scan_simple.json')),
    letters.map((l) => ({ name: `/dev/sd${l}`, type: 'scsi', protocol: 'SCSI' })),
  );
  t.deepEqual(parseScanOutput(readLocal('scrutiny/smartctl_scan_nvme.json')), [{ name: '/dev/nvme0', type: 'nvme', protocol: 'NVMe' }]);
  for (const file of ['scrutiny/smartctl_scan_simple.json', 'scrutiny/smartctl_scan_nvme.json']) {
    const error = t.throws(() => parse(file), { instanceOf: SmartParseError });
    t.is(error?.kind, 'scan', file);
  }
});
