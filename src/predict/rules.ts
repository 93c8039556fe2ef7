/**
 * The rules: the drive's own verdict, and smartd-style checks per protocol, each finding with the
 * evidence a sysadmin can act on. A finding's level is a floor: `failing` and `degraded` raise the
 * probability to at least that level's cut (see predictor.ts), `watch` only marks the disk.
 * For ATA the counters Backblaze records (5, 187, 188, 197, 198) are weighed by the model; the
 * rules here add what the model has no data for (health status, self-tests, the error log, cabling)
 * and two growth rules that hold whatever the model says: 32 or more sectors reallocated within 7
 * days, 16 or more new pending sectors within 7 days. (Smaller bursts, and any static count, are
 * `watch` findings that the model weighs: on Backblaze's drives a single pending sector or a few
 * old reallocations alarm too many healthy disks to be an alarm on their own; see
 * scripts/train-model.mjs and `harbinger evaluate`.)
 *
 * Sources: smartd.conf(5) (-H health, -l error / -l selftest "increased", -C 197 / -U 198,
 * -f usage attributes), the NVMe base specification (SMART / Health log: critical warning bits,
 * available spare vs its threshold, percentage used), and for SCSI smartd's and Scrutiny's grown
 * defect and uncorrected error checks (grown defects ≥ 40, from thomas-krenn check_smart_attributes).
 */
import type { Features, Signal } from './features.js';
import type { Evidence } from './types.js';

export type FindingLevel = 'failing' | 'degraded' | 'watch';

export interface Finding {
  level: FindingLevel;
  evidence: Evidence;
}

/**
 * Reallocated sectors grown this much in 7 days is an alarm on its own (0 → 32 this week). Smaller
 * bursts are `watch` findings the model weighs: on Backblaze's training drives (2-fold
 * cross-validation, scripts/train-model.mjs --cv) an alarm at 8 cost about 1 point of TPR at 2.5%
 * FPR, its false alarms crowding out better ones; at 32 it cost nothing measurable.
 */
export const REALLOCATED_GROWTH_7D = 32;
/** New pending sectors this week that are an alarm on their own. */
export const PENDING_NEW_7D = 16;
/** NVMe percentage used (ratio) at which the drive is worn out, near it, and worth a look. */
export const NVME_WORN = { failing: 0.95, degraded: 0.85, watch: 0.75 } as const;
/** Available spare this close above its threshold (ratio points) is degraded. */
export const NVME_SPARE_MARGIN = 0.1;
/** SCSI grown defect list length that is degraded even when it does not grow. */
export const SCSI_GROWN_DEFECTS_HIGH = 40;

/** NVMe critical warning bits (NVMe base spec, SMART / Health Information log, byte 0). */
const NVME_WARNING_BITS: ReadonlyArray<[bit: number, level: FindingLevel, note: string]> = [
  [0, 'failing', 'NVMe critical warning: available spare has fallen below its threshold; replace the drive.'],
  [1, 'watch', 'NVMe critical warning: temperature outside its thresholds; check cooling.'],
  [2, 'failing', 'NVMe critical warning: reliability degraded by media errors or an internal error; replace the drive.'],
  [3, 'failing', 'NVMe critical warning: the media is read-only; replace the drive now.'],
  [4, 'degraded', 'NVMe critical warning: the volatile memory backup device has failed; writes may be lost on power loss.'],
  [5, 'degraded', 'NVMe critical warning: the persistent memory region is read-only.'],
];

function counterEvidence(features: Features, signal: Signal, note: string, threshold?: number): Evidence | undefined {
  const c = features.counters[signal];
  if (c === undefined) return undefined;
  const evidence: Evidence = { signal, value: c.value, note };
  if (c.change7d !== undefined) evidence.change7d = c.change7d;
  if (c.change30d !== undefined) evidence.change30d = c.change30d;
  if (threshold !== undefined) evidence.threshold = threshold;
  return evidence;
}

/** Growth over the longer window known (30 days, else 7), or 0 when unknown. */
function growth(features: Features, signal: Signal): number {
  const c = features.counters[signal];
  return Math.max(0, c?.change30d ?? c?.change7d ?? 0);
}

function verdictRules(features: Features, out: Finding[]): void {
  const s = features.current;
  if (s.smartPassed === false) {
    out.push({ level: 'failing', evidence: { signal: 'smart_status', value: false, note: "The drive's own SMART health check says FAILED: replace it now." } });
  }
  if (s.exitDiskFailing === true && s.smartPassed !== false) {
    out.push({ level: 'failing', evidence: { signal: 'smartctl_disk_failing', value: true, note: 'smartctl exit status bit 3: SMART status says DISK FAILING; replace it now.' } });
  }
  if (s.exitPrefailBelowThreshold === true) {
    out.push({ level: 'failing', evidence: { signal: 'prefail_below_threshold', value: true, note: 'smartctl exit status bit 4: a pre-failure attribute is at or below its vendor threshold now; replace the drive.' } });
  }
}

/** A counter that should stay 0: growth is `onGrowth`, a static non-zero value is `onStatic`. */
function counterRule(features: Features, out: Finding[], signal: Signal, onGrowth: FindingLevel, onStatic: FindingLevel, grewNote: string, staticNote: string): void {
  const c = features.counters[signal];
  if (c === undefined || (c.value <= 0 && growth(features, signal) <= 0)) return;
  const grew = growth(features, signal) > 0;
  // With one reading there is no telling whether a count is old or new: say so, claim neither.
  const known = c.change7d !== undefined || c.change30d !== undefined;
  const note = grew ? grewNote : known ? staticNote : `${signal.replace(/_/g, ' ')}: ${c.value}, with no earlier reading yet to tell whether it is growing.`;
  const evidence = counterEvidence(features, signal, note, 0);
  if (evidence) out.push({ level: grew ? onGrowth : onStatic, evidence });
}

function ataRules(features: Features, out: Finding[]): void {
  const realloc = features.counters.reallocated_sectors;
  if (realloc !== undefined && (realloc.change7d ?? 0) >= REALLOCATED_GROWTH_7D) {
    out.push({
      level: 'degraded',
      evidence: { ...counterEvidence(features, 'reallocated_sectors', `${realloc.change7d} sectors reallocated in the last 7 days: the surface is going bad; plan the replacement.`, REALLOCATED_GROWTH_7D)!, signal: 'reallocated_sectors_growth_7d' },
    });
  } else {
    counterRule(features, out, 'reallocated_sectors', 'watch', 'watch', 'Reallocated sectors grew recently.', 'Reallocated sectors that have not grown recently: an old scar; watch for growth.');
  }
  const pending = features.counters.pending_sectors;
  if (pending !== undefined && pending.value >= PENDING_NEW_7D && (pending.change7d ?? 0) >= PENDING_NEW_7D) {
    out.push({ level: 'degraded', evidence: { ...counterEvidence(features, 'pending_sectors', `${pending.change7d} new pending (unreadable) sectors this week: data in them may be lost; run a long self-test and plan the replacement.`, PENDING_NEW_7D)!, signal: 'pending_sectors_growth_7d' } });
  } else counterRule(features, out, 'pending_sectors', 'watch', 'watch', 'New pending (unreadable) sectors: data in them may be lost; run a long self-test.', 'Pending (unreadable) sectors: run a long self-test, restore the data from a replica.');
  counterRule(features, out, 'offline_uncorrectable', 'watch', 'watch', 'New offline-uncorrectable sectors found by the drive\'s own scan.', 'Offline-uncorrectable sectors: the drive could not read them in its own scan.');
  counterRule(features, out, 'reported_uncorrectable', 'watch', 'watch', 'New uncorrectable errors reported to the host.', 'Uncorrectable errors were reported to the host.');
  counterRule(features, out, 'reallocation_events', 'watch', 'watch', 'New reallocation events.', 'Past reallocation events.');
  counterRule(features, out, 'self_test_errors', 'degraded', 'watch', 'A self-test failed recently: the drive found an error it could not recover.', 'The self-test log holds failed tests.');
  counterRule(features, out, 'ata_error_log_count', 'watch', 'watch', 'New entries in the ATA error log.', 'The ATA error log holds errors.');
  const crc = features.counters.udma_crc_errors;
  if (crc !== undefined && growth(features, 'udma_crc_errors') > 0) {
    out.push({ level: 'watch', evidence: counterEvidence(features, 'udma_crc_errors', 'UDMA CRC errors are growing: a cable, backplane or connector problem, not the disk surface; reseat or replace the cable.', 0)! });
  }
  const timeouts = features.counters.command_timeouts;
  if (timeouts !== undefined && growth(features, 'command_timeouts') > 0) {
    out.push({ level: 'watch', evidence: counterEvidence(features, 'command_timeouts', 'Command timeouts are growing: check power and cabling.', 0)! });
  }
}

function nvmeRules(features: Features, out: Finding[]): void {
  const s = features.current;
  const warning = s.nvmeCriticalWarning ?? 0;
  for (const [bit, level, note] of NVME_WARNING_BITS) {
    if ((warning & (1 << bit)) !== 0) out.push({ level, evidence: { signal: `nvme_critical_warning_bit${bit}`, value: warning, note } });
  }
  const spare = s.nvmeAvailableSpareRatio;
  const spareThreshold = s.nvmeAvailableSpareThresholdRatio;
  if (spare !== undefined && spareThreshold !== undefined && spareThreshold > 0 && (warning & 1) === 0) {
    if (spare < spareThreshold) out.push({ level: 'failing', evidence: { ...counterEvidence(features, 'nvme_available_spare', 'Available spare is below its threshold: replace the drive.', spareThreshold)! } });
    else if (spare < spareThreshold + NVME_SPARE_MARGIN) out.push({ level: 'degraded', evidence: { ...counterEvidence(features, 'nvme_available_spare', 'Available spare is close to its threshold: plan the replacement.', spareThreshold + NVME_SPARE_MARGIN)! } });
  }
  const used = s.nvmePercentageUsedRatio;
  if (used !== undefined && used >= NVME_WORN.watch) {
    const level: FindingLevel = used >= NVME_WORN.failing ? 'failing' : used >= NVME_WORN.degraded ? 'degraded' : 'watch';
    const note = `${Math.round(used * 100)}% of the rated endurance used: ${level === 'failing' ? 'replace the drive' : 'plan the replacement'}.`;
    out.push({ level, evidence: counterEvidence(features, 'nvme_percentage_used', note, NVME_WORN[level])! });
  }
  counterRule(features, out, 'nvme_media_errors', 'degraded', 'watch', 'Media and data integrity errors are growing: the flash is failing; plan the replacement.', 'Media errors in the past, none recently.');
  counterRule(features, out, 'nvme_error_log_entries', 'watch', 'watch', 'New entries in the NVMe error log.', 'The NVMe error log holds entries.');
}

function scsiRules(features: Features, out: Finding[]): void {
  const defects = features.counters.scsi_grown_defects;
  if (defects !== undefined) {
    const grew = growth(features, 'scsi_grown_defects') > 0;
    if (grew || defects.value >= SCSI_GROWN_DEFECTS_HIGH) {
      const note = grew ? 'The grown defect list is growing: the medium is failing; plan the replacement.' : `${defects.value} grown defects: plan the replacement.`;
      out.push({ level: 'degraded', evidence: counterEvidence(features, 'scsi_grown_defects', note, grew ? 0 : SCSI_GROWN_DEFECTS_HIGH)! });
    } else if (defects.value > 0) {
      out.push({ level: 'watch', evidence: counterEvidence(features, 'scsi_grown_defects', 'A few grown defects, not growing.', SCSI_GROWN_DEFECTS_HIGH)! });
    }
  }
  counterRule(features, out, 'scsi_uncorrected_errors', 'degraded', 'watch', 'Uncorrected read/write/verify errors are growing: plan the replacement.', 'Uncorrected errors in the past, none recently.');
}

/** Every rule that fires on the current reading, given its history. */
export function applyRules(features: Features): Finding[] {
  const out: Finding[] = [];
  verdictRules(features, out);
  const protocol = features.current.protocol;
  if (protocol === 'ata') ataRules(features, out);
  else if (protocol === 'nvme') nvmeRules(features, out);
  else scsiRules(features, out);
  return out;
}
