/**
 * Exact readings of NVMe and SCSI recordings. Every expected value below was worked out by hand
 * from the recording's JSON (arithmetic in the comments), not copied from the parser's output.
 */
import test from 'ava';
import { decodeExitStatus, parseSmartctlOutput } from '../../../src/collectors/smart/parse.js';
import { readLocal } from './smartctl-fixtures.js';

const parse = (file: string) => parseSmartctlOutput(readLocal(file));

test('NVMe with media errors (scrutiny/smart-nvme-failed.json)', (t) => {
  t.deepEqual(parse('scrutiny/smart-nvme-failed.json'), {
    disk: 'Samsung_SSD_970_EVO_500GB_S466NX0M776250H',
    device: '/dev/nvme0',
    deviceType: 'nvme',
    protocol: 'nvme',
    identity: { model: 'Samsung SSD 970 EVO 500GB', serial: 'S466NX0M776250H', firmware: '2B2QEXE7', capacityBytes: 500107862016 },
    smartPassed: true,
    temperatureCelsius: 35,
    powerOnSeconds: 12798 * 3600,
    powerCycles: 25,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.0',
    counters: {},
    nvme: {
      criticalWarning: 0,
      mediaErrors: 7,
      availableSpareRatio: 0.99,
      availableSpareThresholdRatio: 0.1,
      percentageUsedRatio: 0.03,
      unsafeShutdowns: 10,
      errorLogEntries: 62,
      dataReadBytes: 8_794_518_528_000, // 17176794 units * 512000
      dataWrittenBytes: 33_588_269_056_000, // 65602088 units * 512000
      powerCycles: 25,
    },
  });
});

test('NVMe from smartctl_exporter (SAMSUNG_MZVL21T0HCLR-00B00_23.json, smartctl 7.3)', (t) => {
  t.deepEqual(parse('smartctl_exporter/SAMSUNG_MZVL21T0HCLR-00B00_23.json'), {
    disk: 'SAMSUNG_MZVL21T0HCLR-00B00_REDACTED',
    device: '/dev/nvme0',
    deviceType: 'nvme',
    protocol: 'nvme',
    identity: { model: 'SAMSUNG MZVL21T0HCLR-00B00', serial: 'REDACTED', firmware: 'REDACTED', capacityBytes: 1024209543168 },
    smartPassed: true,
    temperatureCelsius: 29,
    powerOnSeconds: 10423 * 3600,
    powerCycles: 6,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.3',
    counters: {},
    nvme: {
      criticalWarning: 0,
      mediaErrors: 0,
      availableSpareRatio: 1,
      availableSpareThresholdRatio: 0.1,
      percentageUsedRatio: 0.16,
      unsafeShutdowns: 1,
      errorLogEntries: 0,
      dataReadBytes: 3_682_840_576_000, // 7193048 * 512000
      dataWrittenBytes: 58_195_344_896_000, // 113662783 * 512000
      powerCycles: 6,
    },
  });
});

test('SAS disk with 56 grown defects, trimmed of its smartctl header (scrutiny/smart-scsi.json)', (t) => {
  t.deepEqual(parse('scrutiny/smart-scsi.json'), {
    disk: 'SEAGATE_ST4000NM0043_Z1Z5DWJK0000XXXXXXXX',
    device: '/dev/sdg',
    deviceType: 'scsi',
    protocol: 'scsi',
    identity: { model: 'SEAGATE ST4000NM0043', serial: 'Z1Z5DWJK0000XXXXXXXX', firmware: 'MS03', vendor: 'SEAGATE', capacityBytes: 4000787030016, rotationRateRpm: 7200, formFactor: '3.5 inches' },
    smartPassed: true,
    temperatureCelsius: 34,
    powerOnSeconds: 43549 * 3600 + 33 * 60,
    exitStatus: decodeExitStatus(0),
    exitStatusAssumed: true,
    counters: {},
    scsi: {
      grownDefects: 56,
      read: { totalUncorrectedErrors: 0, correctedByEcc: 300357663, totalErrorsCorrected: 300357663, processedBytes: 176_987_332_000_000 },
      write: { totalUncorrectedErrors: 0, correctedByEcc: 0, totalErrorsCorrected: 0, processedBytes: 86_472_611_000_000 },
    },
  });
});

test('smartctl 6.7 pre-release SCSI output (scrutiny/smart-scsi2.json): vendor/product/revision keys', (t) => {
  t.deepEqual(parse('scrutiny/smart-scsi2.json'), {
    disk: 'SEAGATE_ST1200MM0088_Z4028VRY0000C810BZXB',
    device: '/dev/sdb',
    deviceType: 'scsi',
    protocol: 'scsi',
    identity: { model: 'SEAGATE ST1200MM0088', serial: 'Z4028VRY0000C810BZXB', firmware: 'N004', vendor: 'SEAGATE', capacityBytes: 1200243695616, rotationRateRpm: 10500, formFactor: '2.5 inches' },
    smartPassed: true,
    temperatureCelsius: 31,
    powerOnSeconds: 5675 * 3600 + 39 * 60,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '6.7',
    counters: {},
    scsi: {
      grownDefects: 0,
      read: { totalUncorrectedErrors: 0, correctedByEcc: 1410362924, totalErrorsCorrected: 1410362924, processedBytes: 386_568_000_000 },
      write: { totalUncorrectedErrors: 0, correctedByEcc: 0, totalErrorsCorrected: 0, processedBytes: 806_827_000_000 },
    },
  });
});

test('SCSI with smartctl 7.4 key names and a start-stop counter (smartctl_exporter/HP_73.4G_MAS3735NC_25.json)', (t) => {
  t.deepEqual(parse('smartctl_exporter/HP_73.4G_MAS3735NC_25.json'), {
    disk: 'wwn-1234567890abcdef', // logical_unit_id "0x1234567890abcdef" (redacted upstream)
    device: '/dev/sdc',
    deviceType: 'scsi',
    protocol: 'scsi',
    identity: { model: 'HP 73.4G MAS3735NC', serial: 'REDACTED', wwn: '1234567890abcdef', firmware: 'HPC3', vendor: 'HP 73.4G', capacityBytes: 73407865856, rotationRateRpm: 15000 },
    smartPassed: true,
    temperatureCelsius: 28,
    exitStatus: decodeExitStatus(0),
    smartctlVersion: '7.4',
    counters: {},
    scsi: {
      grownDefects: 0,
      read: { totalUncorrectedErrors: 0, correctedByEcc: 1020, totalErrorsCorrected: 0, processedBytes: 64_396_534_000_000 },
      write: { totalUncorrectedErrors: 0, correctedByEcc: 338, totalErrorsCorrected: 0, processedBytes: 28_837_334_000_000 },
      startStopCycles: 184,
    },
  });
});
