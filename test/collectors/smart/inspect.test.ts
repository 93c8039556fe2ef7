import { join } from 'node:path';
import test from 'ava';
import { inspectFiles } from '../../../src/collectors/smart/inspect.js';
import { tempDir } from '../../helpers/tmp.js';
import { LOCAL_DIR } from './smartctl-fixtures.js';

const fixture = (file: string) => join(LOCAL_DIR, file);

interface LinePrediction {
  level: string;
  history: string;
  evidence: Array<{ signal: string }>;
}

/** The predictor's part of each line, and the lines without it (the parser's part). */
function splitPredictions(lines: object[]): [Array<LinePrediction | undefined>, object[]] {
  const predictions: Array<LinePrediction | undefined> = [];
  const rest = lines.map((line) => {
    const { prediction, ...parsed } = line as { prediction?: LinePrediction };
    if (prediction) predictions.push(prediction);
    return parsed;
  });
  return [predictions, rest];
}

test('one good file, one smartctl error, one missing file: a line each, ok false', async (t) => {
  const good = fixture('scrutiny/smart-fail2.json');
  const failed = fixture('scrutiny/smart-fail.json');
  const missing = join(await tempDir(t), 'no-such.json');
  const { lines: withPredictions, ok } = await inspectFiles([good, failed, missing]);
  t.false(ok);
  const [predictions, lines] = splitPredictions(withPredictions);
  t.is(predictions[0]?.level, 'failing', 'the failing Hitachi: the predictor agrees with the drive');
  t.is(predictions[0]?.evidence[0]?.signal, 'smart_status');
  t.is(predictions[0]?.history, 'this recording only');
  t.is(predictions.length, 1, 'no prediction for a file that is not a reading');
  t.deepEqual(lines, [
    {
      file: good,
      disk: 'wwn-5000cca37fca81a8',
      device: '/dev/sdc',
      protocol: 'ata',
      model: 'Hitachi HDS721050DLE630',
      serial: 'MSK423Y20S3HBC',
      firmware: 'MS1OA650',
      smart_passed: false,
      temperature_celsius: 25,
      power_on_hours: 65592,
      exit_status: 216,
      counters: { reallocated_sectors: 1975, reallocated_events: 3831, pending_sectors: 8, offline_uncorrectable: 0, udma_crc_errors: 0 },
      ata: { error_log_count: 56, self_test_errors: 3 },
    },
    {
      file: failed,
      error: { kind: 'open_failed', message: 'Smartctl open device: /dev/sda failed: \\\\.\\PhysicalDrive0: Open failed, Error=5', path: 'smartctl.exit_status' },
    },
    { file: missing, error: { kind: 'not_json', message: `ENOENT: no such file or directory, open '${missing}'` } },
  ]);
});

test('NVMe and SCSI details in snake_case; a trimmed recording shows no exit status; ok when all parse', async (t) => {
  const nvme = fixture('scrutiny/smart-nvme-failed.json');
  const scsi = fixture('scrutiny/smart-scsi.json');
  const { lines: withPredictions, ok } = await inspectFiles([nvme, scsi]);
  t.true(ok);
  const [predictions, lines] = splitPredictions(withPredictions);
  t.deepEqual(predictions.map((p) => p?.level), ['watch', 'degraded'], 'NVMe media errors without history: watch; 56 grown SCSI defects: degraded');
  t.deepEqual(lines, [
    {
      file: nvme,
      disk: 'Samsung_SSD_970_EVO_500GB_S466NX0M776250H',
      device: '/dev/nvme0',
      protocol: 'nvme',
      model: 'Samsung SSD 970 EVO 500GB',
      serial: 'S466NX0M776250H',
      firmware: '2B2QEXE7',
      smart_passed: true,
      temperature_celsius: 35,
      power_on_hours: 12798,
      exit_status: 0,
      counters: {},
      nvme: {
        critical_warning: 0,
        media_errors: 7,
        available_spare_ratio: 0.99,
        available_spare_threshold_ratio: 0.1,
        percentage_used_ratio: 0.03,
        unsafe_shutdowns: 10,
        error_log_entries: 62,
        data_read_bytes: 8_794_518_528_000,
        data_written_bytes: 33_588_269_056_000,
        power_cycles: 25,
      },
    },
    {
      file: scsi,
      disk: 'SEAGATE_ST4000NM0043_Z1Z5DWJK0000XXXXXXXX',
      device: '/dev/sdg',
      protocol: 'scsi',
      model: 'SEAGATE ST4000NM0043',
      serial: 'Z1Z5DWJK0000XXXXXXXX',
      firmware: 'MS03',
      smart_passed: true,
      temperature_celsius: 34,
      power_on_hours: 43549 + 33 / 60,
      counters: {},
      scsi: {
        grown_defects: 56,
        read: { total_uncorrected_errors: 0, corrected_by_ecc: 300357663, total_errors_corrected: 300357663, processed_bytes: 176_987_332_000_000 },
        write: { total_uncorrected_errors: 0, corrected_by_ecc: 0, total_errors_corrected: 0, processed_bytes: 86_472_611_000_000 },
      },
    },
  ]);
  // The lines are plain JSON values: what the CLI prints is what the test sees.
  t.deepEqual(JSON.parse(JSON.stringify(lines)), lines);
});

test('no files: nothing to report, ok', async (t) => {
  t.deepEqual(await inspectFiles([]), { lines: [], ok: true });
});
