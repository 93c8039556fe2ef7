/**
 * The predictor's inputs and outputs. A DiskSample is what the predictor keeps of one reading:
 * the same features whether they came from smartctl on this host or from a row of Backblaze's
 * public data, so the code that runs in the agent is the code `harbinger evaluate` measures.
 * Absent fields are unknown (not reported by this drive or this data set), never 0.
 */

export type RiskLevel = 'ok' | 'watch' | 'degraded' | 'failing';
export const RISK_LEVELS: readonly RiskLevel[] = ['ok', 'watch', 'degraded', 'failing'];

export interface DiskSample {
  /** When the reading was taken (Unix ms). */
  atMs: number;
  protocol: 'ata' | 'nvme' | 'scsi';
  /** The drive's own verdicts. */
  smartPassed?: boolean;
  /** smartctl exit bit 3. */
  exitDiskFailing?: boolean;
  /** smartctl exit bit 4: a prefail attribute at or below its threshold now. */
  exitPrefailBelowThreshold?: boolean;
  powerOnHours?: number;
  /** ATA attribute raw values (decoded), by the counters the rules use. */
  reallocatedSectors?: number; // 5
  reportedUncorrectable?: number; // 187
  commandTimeouts?: number; // 188
  reallocationEvents?: number; // 196
  pendingSectors?: number; // 197
  offlineUncorrectable?: number; // 198
  udmaCrcErrors?: number; // 199
  ataErrorLogCount?: number;
  selfTestErrors?: number;
  /** NVMe. */
  nvmeCriticalWarning?: number;
  nvmeMediaErrors?: number;
  nvmeAvailableSpareRatio?: number;
  nvmeAvailableSpareThresholdRatio?: number;
  nvmePercentageUsedRatio?: number;
  nvmeErrorLogEntries?: number;
  /** SCSI. */
  scsiGrownDefects?: number;
  scsiUncorrectedErrors?: number;
  /** Identity, to notice a different drive behind the same id (serial change = swap). */
  serial?: string;
  /**
   * The drive's model as it reports it (smartctl `model_name`, Backblaze's `model` column): the
   * model's failure rate in Backblaze's data is one of the model's inputs (model.ts).
   */
  model?: string;
}

export interface Evidence {
  /** What was looked at: `pending_sectors`, `reallocated_sectors_growth_7d`, `smart_status`, … */
  signal: string;
  value: number | boolean;
  /** Change over the last 7 and 30 days where history allows. */
  change7d?: number;
  change30d?: number;
  /** The rule's threshold, or the model's weight for this feature. */
  threshold?: number;
  weight?: number;
  /** One sentence a sysadmin can act on. */
  note: string;
}

export interface Prediction {
  level: RiskLevel;
  /** Probability of failure within `horizonDays`, 0-1. */
  probability: number;
  horizonDays: number;
  /**
   * ISO date (YYYY-MM-DD, UTC) by which to replace the disk: from predict(), the date were the
   * alarm to start now (degraded or failing only); from the agent, its open alarm's (replace-by.ts).
   */
  replaceBy?: string;
  /** Strongest first. */
  evidence: Evidence[];
}
