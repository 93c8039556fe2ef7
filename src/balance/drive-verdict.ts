import type { Evidence } from '../predict/types.js';
import type { DrainVerdict } from '../protocol/balance-report.js';

/**
 * The evidence that is the drive's own verdict, not harbinger's reading of its counters: the
 * SMART health check says FAILED (or smartctl's exit status says DISK FAILING, or a pre-failure
 * attribute is at its vendor threshold, which is how the drive decides FAILED), or an NVMe
 * critical warning about the media or the spare (not bit 1, temperature, which is about cooling).
 */
const DRIVE_SIGNALS: ReadonlySet<string> = new Set([
  'smart_status',
  'smartctl_disk_failing',
  'prefail_below_threshold',
  'nvme_critical_warning_bit0',
  'nvme_critical_warning_bit2',
  'nvme_critical_warning_bit3',
  'nvme_critical_warning_bit4',
  'nvme_critical_warning_bit5',
]);

/**
 * `drive` when the disk's evidence includes the drive's own verdict; `prediction` otherwise. Only a
 * drive's own verdict may drain a host the collector has not answered for (balance.grant_timeout).
 */
export function drainVerdict(evidence: readonly Evidence[]): DrainVerdict {
  return evidence.some((e) => DRIVE_SIGNALS.has(e.signal)) ? 'drive' : 'prediction';
}
