/**
 * Exact readings where vendor-packed raw values matter (Seagate) and of a healthy SATA SSD.
 * Expected values were worked out by hand from each recording's `raw.value` (in hex in the
 * comments) and `raw.string`, not copied from the parser's output.
 */
import test from 'ava';
import { decodeExitStatus, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import type { AtaAttribute, DiskReading } from '../../../src/collectors/smart/reading.js';
import { readLocal } from './smartctl-fixtures.js';

const parse = (file: string) => parseSmartctlOutput(readLocal(file));
const withoutAttributes = (r: DiskReading): DiskReading => (r.ata ? { ...r, ata: { ...r.ata, attributes: [] } } : r);
const attr = (id: number, name: string, value: number, worst: number, thresh: number, raw: number, rawString: string, prefailure: boolean): AtaAttribute => ({
  id, name, value, worst, thresh, raw, rawString, prefailure, whenFailed: '',
});
const raw = (r: DiskReading, id: number) => r.ata?.attributes.find((a) => a.id === id)?.raw;

test('a young Seagate (Exos 7E8, 4886 h) does not show millions of read, seek and ECC errors', (t) => {
  const r = parse('smartctl_exporter/sat-Seagate_Exos_7E8-ST1000NM000A-2J3100-sdq.json');
  t.deepEqual(withoutAttributes(r), {
    // oui 3152 = 0x000c50, id 1234567890 = 0x0499602d2 (redacted upstream)
    disk: 'wwn-5000c500499602d2',
    device: '/dev/sdq',
    deviceType: 'sat',
    protocol: 'ata',
    identity: { model: 'ST1000NM000A-2J3100', serial: 'REDACTED', wwn: '5000c500499602d2', firmware: 'REDACTED', capacityBytes: 1000204886016, rotationRateRpm: 7200, formFactor: '3.5 inches' },
    smartPassed: true,
    temperatureCelsius: 26,
    powerOnSeconds: 4886 * 3600,
    powerCycles: 13,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.3',
    counters: { reallocatedSectors: 0, pendingSectors: 0, offlineUncorrectable: 0, udmaCrcErrors: 0, reportedUncorrectable: 0, commandTimeouts: 0 },
    ata: { attributes: [], errorLogCount: 0 },
  });
  t.deepEqual(r.ata?.attributes, [
    // raw.string is the plain raw48 number here, so smartctl did not split it: 0x0000_05371047 has
    // 0 in its upper 16 bits (errors) and 87494727 in its lower 32 (operations).
    attr(1, 'Raw_Read_Error_Rate', 79, 64, 44, 0, '87494727', true),
    attr(3, 'Spin_Up_Time', 97, 97, 0, 0, '0', true),
    attr(4, 'Start_Stop_Count', 100, 100, 20, 13, '13', false),
    attr(5, 'Reallocated_Sector_Ct', 100, 100, 10, 0, '0', true),
    attr(7, 'Seek_Error_Rate', 77, 60, 45, 0, '45734571', true), // 0x0000_02b9daab
    attr(9, 'Power_On_Hours', 95, 95, 0, 4886, '4886', false),
    attr(10, 'Spin_Retry_Count', 100, 100, 97, 0, '0', true),
    attr(12, 'Power_Cycle_Count', 100, 100, 20, 13, '13', false),
    attr(18, 'Head_Health', 100, 100, 50, 0, '0', true),
    attr(187, 'Reported_Uncorrect', 100, 100, 0, 0, '0', false),
    attr(188, 'Command_Timeout', 100, 100, 0, 0, '0', false),
    attr(190, 'Airflow_Temperature_Cel', 74, 72, 40, 26, '26 (Min/Max 22/28)', false),
    attr(192, 'Power-Off_Retract_Count', 100, 100, 0, 7, '7', false),
    attr(193, 'Load_Cycle_Count', 100, 100, 0, 225, '225', false),
    attr(194, 'Temperature_Celsius', 26, 40, 0, 26, '26 (0 22 0 0 0)', false),
    attr(195, 'Hardware_ECC_Recovered', 79, 64, 0, 0, '87494727', false),
    attr(197, 'Current_Pending_Sector', 100, 100, 0, 0, '0', false),
    attr(198, 'Offline_Uncorrectable', 100, 100, 0, 0, '0', false),
    attr(199, 'UDMA_CRC_Error_Count', 200, 200, 0, 0, '0', false),
    // msec24hour32: raw.value 10124616601178378 is beyond 2^53; the string says 4362 hours
    attr(240, 'Head_Flying_Hours', 100, 253, 0, 4362, '4362h+39m+17.321s', false),
    attr(241, 'Total_LBAs_Written', 100, 253, 0, 702856333, '702856333', false),
    attr(242, 'Total_LBAs_Read', 100, 253, 0, 361205548, '361205548', false),
  ]);
});

test('other Seagate packings: raw16 "2 2 2", 188 packed in a raw48 string, errors in the upper word, hours formats', (t) => {
  const enterprise = parse('smartctl_exporter/sat-Seagate_Enterprise_Capacity_3.5_HDD-ST2000NM0008-2F3100-sdl.json');
  t.is(enterprise.counters.commandTimeouts, 2); // "2 2 2" (raw16, value 0x0002_0002_0002)
  t.is(raw(enterprise, 9), 37054); // "37054h+12m+58.233s"
  t.is(raw(enterprise, 240), 34643); // "34643h+21m+17.541s"
  t.deepEqual([raw(enterprise, 1), raw(enterprise, 7), raw(enterprise, 195)], [0, 0, 0]); // 0x0b015909, 0x3fe793b4
  // "17180131332" = 0x0004_0004_0004: this drive database entry lacks `-v 188,raw16`
  t.is(parse('smartctl_exporter/sat-Seagate_Constellation_ES.3-ST3000NM0033-9ZM178-sdc.json').counters.commandTimeouts, 4);
  // Seek_Error_Rate 52383508216 = 0x000c_324ce6f8: 12 errors in 843900664 seeks
  t.is(raw(parse('smartctl_exporter/sat-Seagate_Constellation_ES_SATA-ST32000644NS-sda.json'), 7), 12);
  t.is(raw(parse('smartctl_exporter/sat-Seagate_Enterprise_Capacity_3.5_HDD-ST8000NM0016-1U3101-sds.json'), 9), 38098); // "38098 (190 82 0)"
});

test('healthy SATA SSD with extended logs (scrutiny/smart-ata-full.json, `-x`)', (t) => {
  const r = parse('scrutiny/smart-ata-full.json');
  t.deepEqual(withoutAttributes(r), {
    // oui 9528 = 0x002538, id 61213911380 = 14 * 2^32 + 0x40a22954 = 0xe40a22954
    disk: 'wwn-5002538e40a22954',
    device: '/dev/sda',
    deviceType: 'sat',
    protocol: 'ata',
    identity: { model: 'Samsung SSD 860 EVO 500GB', serial: 'S3YZNB0KB00864E', wwn: '5002538e40a22954', firmware: 'RVT02B6Q', capacityBytes: 500107862016, rotationRateRpm: 0, formFactor: '2.5 inches' },
    smartPassed: true,
    temperatureCelsius: 36,
    powerOnSeconds: 14551 * 3600,
    powerCycles: 13,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.0',
    counters: { reallocatedSectors: 0, udmaCrcErrors: 0, reportedUncorrectable: 0 },
    // only the extended logs (-x): error count 0, 19 extended self-tests all passed
    ata: { attributes: [], errorLogCount: 0, selfTestErrors: 0 },
  });
  t.deepEqual(r.ata?.attributes, [
    attr(5, 'Reallocated_Sector_Ct', 100, 100, 10, 0, '0', true),
    attr(9, 'Power_On_Hours', 97, 97, 0, 14551, '14551', false),
    attr(12, 'Power_Cycle_Count', 99, 99, 0, 13, '13', false),
    attr(177, 'Wear_Leveling_Count', 81, 81, 0, 278, '278', true),
    attr(179, 'Used_Rsvd_Blk_Cnt_Tot', 100, 100, 10, 0, '0', true),
    attr(181, 'Program_Fail_Cnt_Total', 100, 100, 10, 0, '0', false),
    attr(182, 'Erase_Fail_Count_Total', 100, 100, 10, 0, '0', false),
    attr(183, 'Runtime_Bad_Block', 100, 100, 10, 0, '0', true),
    attr(187, 'Uncorrectable_Error_Cnt', 100, 100, 0, 0, '0', false),
    attr(190, 'Airflow_Temperature_Cel', 64, 43, 0, 36, '36', false),
    attr(195, 'ECC_Error_Rate', 200, 200, 0, 0, '0', false),
    attr(199, 'CRC_Error_Count', 100, 100, 0, 0, '0', false),
    attr(235, 'POR_Recovery_Count', 99, 99, 0, 4, '4', false),
    attr(241, 'Total_LBAs_Written', 99, 99, 0, 64777770148, '64777770148', false),
  ]);
});

test('without raw.string (older output, trimmed files) the same numbers come from bit arithmetic on raw.value', (t) => {
  const stripped = (file: string) => {
    const json = JSON.parse(readLocal(file)) as { ata_smart_attributes: { table: Array<{ raw: { string?: string } }> } };
    for (const entry of json.ata_smart_attributes.table) delete entry.raw.string;
    return parseSmartctlOutput(JSON.stringify(json));
  };
  const exos = stripped('smartctl_exporter/sat-Seagate_Exos_7E8-ST1000NM000A-2J3100-sdq.json');
  // 1, 7, 195: upper word 0; 190 0x1c16001a and 194 0x160000001a: low byte 0x1a = 26;
  // 240 0x23f849_0000110a (beyond 2^53, even, so exact): low 32 bits 0x110a = 4362 hours
  t.deepEqual([1, 7, 195, 188, 190, 194, 240].map((id) => raw(exos, id)), [0, 0, 0, 0, 26, 26, 4362]);
  const enterprise = stripped('smartctl_exporter/sat-Seagate_Enterprise_Capacity_3.5_HDD-ST2000NM0008-2F3100-sdl.json');
  // 188 0x0002_0002_0002 -> 2; 9 0x0bdff9_000090be -> 37054; 240 0x137e65_00008753 -> 34643
  t.deepEqual([188, 9, 240].map((id) => raw(enterprise, id)), [2, 37054, 34643]);
  t.is(enterprise.counters.commandTimeouts, 2);
  // Not Seagate: 196 raw16(raw16) by default, the low word of 53416508262463 = 0x3095_0000_083f
  t.is(raw(stripped('scrutiny/smart-sat.json'), 196), 2111);
});
