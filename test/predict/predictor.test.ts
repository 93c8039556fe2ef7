import test from 'ava';
import { readFileSync } from 'node:fs';
import { parseSmartctlOutput } from '../../src/collectors/smart/parse.js';
import { extractFeatures, HISTORY_DAYS, isNewDrive, modelKey } from '../../src/predict/features.js';
import { MODEL, withAlarmProbability } from '../../src/predict/model.js';
import { HORIZON_DAYS, predict } from '../../src/predict/predictor.js';
import { replaceWithinDays } from '../../src/predict/replace-by.js';
import { sampleFromReading } from '../../src/predict/sample.js';
import type { DiskSample, Prediction } from '../../src/predict/types.js';
import { repoPath } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

/** Daily samples on days 0..days-1; `at(day)` gives that day's fields. */
function daily(days: number, at: (day: number) => Partial<DiskSample>, protocol: DiskSample['protocol'] = 'ata'): DiskSample[] {
  return Array.from({ length: days }, (_, day) => ({ atMs: T0 + day * DAY, protocol, powerOnHours: 20_000 + 24 * day, ...at(day) }));
}

const run = (history: DiskSample[]): Prediction => predict(history, history[history.length - 1]!.atMs);
const signals = (p: Prediction): string[] => p.evidence.map((e) => e.signal);
const daysUntil = (p: Prediction, history: DiskSample[]): number => (Date.parse(`${p.replaceBy}T00:00:00Z`) - history[history.length - 1]!.atMs) / DAY;

test('a clean disk is ok, with a small probability over the 30-day horizon and no replace-by date', (t) => {
  const p = run(daily(40, () => ({ reallocatedSectors: 0, pendingSectors: 0, offlineUncorrectable: 0 })));
  t.is(p.level, 'ok');
  t.is(p.horizonDays, HORIZON_DAYS);
  t.is(HORIZON_DAYS, 30);
  t.true(p.probability > 0 && p.probability < 0.01);
  t.is(p.replaceBy, undefined);
  t.deepEqual(p.evidence, []);
});

test('8 old reallocated sectors that never moved: watch, not degraded; no growth in the evidence', (t) => {
  const history = daily(40, () => ({ reallocatedSectors: 8 }));
  const p = run(history);
  t.is(p.level, 'watch');
  t.true(p.probability < MODEL.operatingPoint.degraded);
  t.is(p.replaceBy, undefined);
  const e = p.evidence.find((x) => x.signal === 'reallocated_sectors');
  t.like(e, { value: 8, change7d: 0, change30d: 0 });
  t.regex(e!.note, /old scar/);
});

test('reallocated sectors growing: 0 → 8 this week is watch, rated above 8 that never moved; 0 → 32 this week is degraded, the growth as evidence, a replace-by date 2 to 10 days away', (t) => {
  const small = run(daily(40, (day) => ({ reallocatedSectors: day >= 35 ? 8 : 0 })));
  t.is(small.level, 'watch');
  t.true(small.probability > run(daily(40, () => ({ reallocatedSectors: 8 }))).probability, 'new growth weighs more than an old scar');
  t.like(small.evidence.find((e) => e.signal === 'reallocated_sectors'), { value: 8, change7d: 8, change30d: 8 });
  const history = daily(40, (day) => ({ reallocatedSectors: day >= 35 ? 32 : 0 }));
  const p = run(history);
  t.is(p.level, 'degraded');
  t.true(p.probability >= MODEL.operatingPoint.degraded);
  t.like(p.evidence[0], { signal: 'reallocated_sectors_growth_7d', value: 32, change7d: 32, change30d: 32, threshold: 32 });
  t.true(typeof p.evidence[0]!.weight === 'number');
  t.is(daysUntil(p, history), replaceWithinDays('degraded', p.probability, MODEL.operatingPoint)!);
  t.true(daysUntil(p, history) >= 2 && daysUntil(p, history) <= 10);
});

test('the same 8 reallocations three weeks ago and quiet since: back to watch', (t) => {
  const p = run(daily(40, (day) => ({ reallocatedSectors: day >= 19 ? 8 : 0 })));
  t.is(p.level, 'watch');
  t.like(p.evidence.find((e) => e.signal === 'reallocated_sectors'), { change7d: 0, change30d: 8 });
});

test('pending sectors appearing: a few are worth a look, a burst this week is an alarm', (t) => {
  const few = run(daily(40, (day) => ({ pendingSectors: day >= 37 ? 1 : 0 })));
  t.is(few.level, 'watch');
  t.like(few.evidence[0], { signal: 'pending_sectors', value: 1, change7d: 1 });
  const burst = run(daily(40, (day) => ({ pendingSectors: day >= 37 ? 24 : 0 })));
  t.is(burst.level, 'degraded');
  t.like(burst.evidence[0], { signal: 'pending_sectors_growth_7d', value: 24, change7d: 24 });
});

test('SMART health FAILED (and smartctl exit bit 3) is failing, replace the next day, verdict first', (t) => {
  const history = daily(10, (day) => ({ reallocatedSectors: 0, smartPassed: day < 9, exitDiskFailing: day === 9 }));
  const p = run(history);
  t.is(p.level, 'failing');
  t.true(p.probability >= MODEL.operatingPoint.failing);
  t.is(p.evidence[0]!.signal, 'smart_status');
  t.false(signals(p).includes('smartctl_disk_failing'), 'bit 3 says the same thing: one item');
  t.is(daysUntil(p, history), 1);
  const bit3Only = run(daily(3, (day) => ({ exitDiskFailing: day === 2 })));
  t.is(bit3Only.level, 'failing');
  t.is(bit3Only.evidence[0]!.signal, 'smartctl_disk_failing');
});

test('a new failed self-test is degraded; UDMA CRC errors growing are cabling: watch', (t) => {
  const selfTest = run(daily(20, (day) => ({ selfTestErrors: day >= 18 ? 1 : 0 })));
  t.is(selfTest.level, 'degraded');
  t.is(selfTest.evidence[0]!.signal, 'self_test_errors');
  const crc = run(daily(20, (day) => ({ udmaCrcErrors: day * 3 })));
  t.is(crc.level, 'watch');
  t.regex(crc.evidence[0]!.note, /cable/);
});

test('NVMe wear: percentage used near 100% is failing; 80% is watch', (t) => {
  const worn = run(daily(5, (day) => ({ nvmePercentageUsedRatio: 0.97 + day * 0.005, nvmeAvailableSpareRatio: 1, nvmeAvailableSpareThresholdRatio: 0.1 }), 'nvme'));
  t.is(worn.level, 'failing');
  t.like(worn.evidence[0], { signal: 'nvme_percentage_used', value: 0.97 + 4 * 0.005 });
  const used = run(daily(5, () => ({ nvmePercentageUsedRatio: 0.8 }), 'nvme'));
  t.is(used.level, 'watch');
});

test('NVMe spare below its threshold and critical warning bits 0/2/3 are failing', (t) => {
  const spare = run(daily(5, (day) => ({ nvmeAvailableSpareRatio: 0.3 - day * 0.05, nvmeAvailableSpareThresholdRatio: 0.1, nvmeCriticalWarning: 0 }), 'nvme'));
  t.is(spare.level, 'failing');
  t.like(spare.evidence[0], { signal: 'nvme_available_spare', value: 0.3 - 4 * 0.05, threshold: 0.1 });
  for (const bit of [0, 2, 3]) {
    const p = run(daily(2, () => ({ nvmeCriticalWarning: 1 << bit }), 'nvme'));
    t.is(p.level, 'failing', `bit ${bit}`);
    t.is(p.evidence[0]!.signal, `nvme_critical_warning_bit${bit}`);
  }
  t.is(run(daily(2, () => ({ nvmeCriticalWarning: 2 }), 'nvme')).level, 'watch', 'bit 1: temperature');
});

test('NVMe media errors growing are degraded; the same count standing still is watch', (t) => {
  const growing = run(daily(30, (day) => ({ nvmeMediaErrors: day >= 27 ? 3 : 0 }), 'nvme'));
  t.is(growing.level, 'degraded');
  t.like(growing.evidence[0], { signal: 'nvme_media_errors', value: 3, change7d: 3 });
  t.is(run(daily(30, () => ({ nvmeMediaErrors: 3 }), 'nvme')).level, 'watch');
});

test('SCSI grown defects growing are degraded; a few old ones are watch; 40 or more is degraded', (t) => {
  const growing = run(daily(30, (day) => ({ scsiGrownDefects: day >= 25 ? 14 : 10 }), 'scsi'));
  t.is(growing.level, 'degraded');
  t.like(growing.evidence[0], { signal: 'scsi_grown_defects', value: 14, change7d: 4, change30d: 4 });
  t.is(run(daily(30, () => ({ scsiGrownDefects: 5 }), 'scsi')).level, 'watch');
  t.is(run(daily(30, () => ({ scsiGrownDefects: 56 }), 'scsi')).level, 'degraded');
  t.is(run(daily(30, (day) => ({ scsiUncorrectedErrors: day >= 29 ? 2 : 0 }), 'scsi')).level, 'degraded');
});

test('a standby gap: days without samples, then the same values, is no growth', (t) => {
  const before = daily(10, () => ({ reallocatedSectors: 8, pendingSectors: 2 }));
  const after: DiskSample = { ...before[9]!, atMs: T0 + 25 * DAY };
  const history = [...before, after];
  const f = extractFeatures(history);
  t.like(f.counters.reallocated_sectors, { value: 8, change7d: 0, change30d: 0 });
  t.like(f.counters.pending_sectors, { change7d: 0, change30d: 0 });
  t.not(run(history).level, 'degraded');
  // Grown across the gap: the change since the last reading before the window is growth.
  const grown = [...before.map((s) => ({ ...s, reallocatedSectors: 0 })), { ...after, reallocatedSectors: 8 }];
  t.like(extractFeatures(grown).counters.reallocated_sectors, { change7d: 8 });
});

test('a drive swap behind the same id restarts the history: no negative growth, growth counted on the new drive only', (t) => {
  const old = daily(20, () => ({ reallocatedSectors: 800, pendingSectors: 40 }));
  const swapped = daily(30, (day) => ({ reallocatedSectors: 0, pendingSectors: 0, powerOnHours: 100 + 24 * day })).slice(20);
  const history = [...old, ...swapped];
  t.true(isNewDrive(old[19]!, swapped[0]!));
  const f = extractFeatures(history);
  t.is(f.resetAtMs, swapped[0]!.atMs);
  t.like(f.counters.reallocated_sectors, { value: 0, change7d: 0, change30d: 0 });
  const p = run(history);
  t.is(p.level, 'ok');
  t.false(p.evidence.some((e) => (e.change7d ?? 0) < 0 || (e.change30d ?? 0) < 0));
  // Counters going down sharply without a power-on hours clue (a RAID slot with no identity).
  const sameHours = [...old, ...daily(30, () => ({ reallocatedSectors: 0 })).slice(20)];
  t.is(extractFeatures(sameHours).resetAtMs, T0 + 20 * DAY);
  // A serial change alone, counts equal.
  t.true(isNewDrive({ ...old[0]!, serial: 'A' }, { ...old[1]!, serial: 'B' }));
  // The new drive's own growth still counts: 0 → 32 in its first week.
  const newGrowth = [...old, ...daily(30, (day) => ({ reallocatedSectors: day >= 27 ? 32 : 0, powerOnHours: 100 + 24 * day })).slice(20)];
  t.is(run(newGrowth).level, 'degraded');
  // Another model behind the id is another drive.
  t.true(isNewDrive({ ...old[0]!, model: 'ST4000DM000-1F2168' }, { ...old[1]!, model: 'WDC WD30EFRX-68EUZN0' }));
});

test('pending sectors that clear are not a swap (they may go down); power-on hours wobbling a little are not either', (t) => {
  t.false(isNewDrive({ atMs: 0, protocol: 'ata', pendingSectors: 40 }, { atMs: DAY, protocol: 'ata', pendingSectors: 0 }));
  t.false(isNewDrive({ atMs: 0, protocol: 'ata', powerOnHours: 21_789 }, { atMs: DAY, protocol: 'ata', powerOnHours: 20_720 }));
  t.true(isNewDrive({ atMs: 0, protocol: 'ata', powerOnHours: 21_789 }, { atMs: DAY, protocol: 'ata', powerOnHours: 12 }));
});

test('predict reads only the last HISTORY_DAYS: older readings change nothing', (t) => {
  const recent = daily(60, (day) => ({ reallocatedSectors: day >= 55 ? 8 : 0 }));
  const withOldNoise = [...daily(5, () => ({ reallocatedSectors: 999 })).map((s) => ({ ...s, atMs: s.atMs - 100 * DAY })), ...recent];
  t.deepEqual(run(withOldNoise), run(recent));
  t.is(HISTORY_DAYS, 30);
});

test("the drive's model: its failure rate in Backblaze's data weighs in; a model not in the table gets the overall rate", (t) => {
  t.is(modelKey('WDC WD30EFRX-68EUZN0'), 'WD30EFRX', "smartctl's model name");
  t.is(modelKey('WDC WD30EFRX'), 'WD30EFRX', "Backblaze's");
  t.is(modelKey('Hitachi HDS722020ALA330'), modelKey('HGST HDS722020ALA330'));
  t.is(modelKey('ST500LM012 HN-M500MBB'), 'ST500LM012');
  t.is(modelKey('ST4000DM000-1F2168'), 'ST4000DM000');
  t.is(modelKey(undefined), undefined);
  const unknown = MODEL.failureRateOf('NO SUCH MODEL 123');
  t.is(MODEL.failureRateOf(undefined), unknown);
  t.true(MODEL.failureRateOf('ST3000DM001-1CH166') > 4 * MODEL.failureRateOf('HGST HMS5C4040BLE640'));
  // One new pending sector on a model that failed often and on one that rarely did.
  const pending = (model: string): Prediction => run(daily(40, (day) => ({ pendingSectors: day >= 37 ? 1 : 0, model })));
  t.true(pending('ST3000DM001-1CH166').probability > pending('HGST HMS5C4040BLE640').probability);
  const e = pending('ST3000DM001-1CH166').evidence.find((x) => x.signal === 'model_failure_rate');
  t.like(e, { value: MODEL.failureRateOf('ST3000DM001') });
  t.is(typeof e?.weight, 'number');
  t.regex(e!.note, /ST3000DM001-1CH166: [0-9.]+% of these drives failed/);
  // An ok disk: nothing about its model in the evidence.
  const clean = run(daily(40, () => ({ pendingSectors: 0, model: 'HGST HMS5C4040BLE640' })));
  t.is(clean.level, 'ok');
  t.deepEqual(clean.evidence, []);
});

test('an empty history is ok; the prediction is pure (same input, same output)', (t) => {
  t.like(predict([], T0), { level: 'ok', probability: 0, horizonDays: 30 });
  const history = daily(40, (day) => ({ pendingSectors: day >= 37 ? 24 : 0 }));
  const copy = structuredClone(history);
  t.deepEqual(run(history), run(history));
  t.deepEqual(history, copy, 'the history is not modified');
});

function fromFixture(file: string): DiskSample {
  const reading = parseSmartctlOutput(readFileSync(repoPath('test', 'fixtures', 'smartctl', file), 'utf8'));
  return sampleFromReading(reading, T0);
}

test('sampleFromReading on real recordings: a failing Hitachi is failing, a healthy NVMe ok, a SCSI disk with 56 grown defects degraded', (t) => {
  const hitachi = fromFixture('scrutiny/smart-fail2.json');
  t.like(hitachi, { protocol: 'ata', smartPassed: false, exitDiskFailing: true, reallocatedSectors: 1975, pendingSectors: 8, reallocationEvents: 3831 });
  t.is(predict([hitachi], T0).level, 'failing');
  const nvme = fromFixture('scrutiny/smart-nvme.json');
  t.is(nvme.protocol, 'nvme');
  t.is(typeof nvme.nvmePercentageUsedRatio, 'number');
  t.is(predict([nvme], T0).level, 'ok');
  const scsi = fromFixture('scrutiny/smart-scsi.json');
  t.like(scsi, { protocol: 'scsi', scsiGrownDefects: 56 });
  t.is(scsi.exitDiskFailing, undefined, 'a trimmed recording without exit status: its bits are no evidence');
  t.is(predict([scsi], T0).level, 'degraded');
  const healthy = fromFixture('smartctl_exporter/WDC_WD20EFRX-68EUZN0_17.json');
  t.like(predict([healthy], T0), { level: 'ok' });
  t.truthy(healthy.serial);
  t.is(healthy.model, 'WDC WD20EFRX-68EUZN0');
});

test('a lower alarm probability makes the same disk degraded earlier; the levels still rise; the model is unchanged', (t) => {
  const history = daily(40, (day) => ({ reallocatedSectors: day >= 35 ? 8 : 0 }));
  const own = run(history);
  t.is(own.level, 'watch');
  const sensitive = withAlarmProbability(MODEL, own.probability / 2);
  t.deepEqual(sensitive.operatingPoint, { watch: Math.min(MODEL.operatingPoint.watch, own.probability / 2), degraded: own.probability / 2, failing: MODEL.operatingPoint.failing });
  const p = predict(history, history[history.length - 1]!.atMs, sensitive);
  t.is(p.level, 'degraded');
  t.is(p.probability, own.probability, 'the probability is the model’s; only the cut moved');
  t.truthy(p.replaceBy);
  // An alarm above `failing` lifts failing with it; the model's own cut is the model itself.
  t.deepEqual(withAlarmProbability(MODEL, 0.8).operatingPoint, { watch: MODEL.operatingPoint.watch, degraded: 0.8, failing: 0.8 });
  t.is(withAlarmProbability(MODEL, MODEL.operatingPoint.degraded), MODEL);
  t.throws(() => withAlarmProbability(MODEL, 0), { message: /between 0 and 1/ });
  t.throws(() => withAlarmProbability(MODEL, 1), { message: /between 0 and 1/ });
  // A rule's degraded finding floors the probability at the configured cut.
  const burst = daily(40, (day) => ({ reallocatedSectors: day >= 35 ? 64 : 0 }));
  t.is(predict(burst, burst[39]!.atMs, withAlarmProbability(MODEL, 0.3)).level, 'degraded');
});
