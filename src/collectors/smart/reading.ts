/**
 * What harbinger knows about one disk after one smartctl call: a typed, unit-normalised view of
 * `smartctl --json` output. A field the output did not contain is absent (never 0): "no data"
 * and "zero errors" mean different things to the predictor.
 */

export type Protocol = 'ata' | 'nvme' | 'scsi';

/** smartctl's exit status, decoded (smartctl(8) "RETURN VALUES"). */
export interface ExitStatus {
  raw: number;
  /** Bit 0: command line did not parse. */
  commandLineError: boolean;
  /** Bit 1: device open failed, or it did not answer an IDENTIFY (or it is asleep, with -n). */
  deviceOpenFailed: boolean;
  /** Bit 2: some SMART or other ATA/SCSI command failed, or a checksum error in a SMART data structure. */
  commandFailed: boolean;
  /** Bit 3: SMART status says DISK FAILING. */
  diskFailing: boolean;
  /** Bit 4: prefail attributes at or below threshold. */
  prefailBelowThreshold: boolean;
  /** Bit 5: some attributes were at or below threshold at some time in the past (usage or prefail). */
  pastBelowThreshold: boolean;
  /** Bit 6: the device error log contains records of errors. */
  errorLogHasErrors: boolean;
  /** Bit 7: the self-test log contains records of errors (or the most recent test failed). */
  selfTestLogHasErrors: boolean;
}

export interface AtaAttribute {
  id: number;
  name: string;
  /**
   * Normalized value, worst and threshold. smartctl leaves `value`/`worst` out when the drive
   * database makes those bytes part of the raw value, and `thresh` when it could not read the
   * thresholds: then they are absent, not 0.
   */
  value?: number;
  worst?: number;
  thresh?: number;
  /**
   * Raw value as smartctl computed it (`raw.value`), unless vendor-packed: then the decoded count
   * (or hours, or current temperature: see ata-raw.ts). Above 2^53 (raw56/raw64 vendor values)
   * it is rounded. Negative only for a temperature below 0 °C.
   */
  raw: number;
  /** smartctl's own rendering (`raw.string`), e.g. "0/0/0" or "34 (Min/Max 20/45)". */
  rawString?: string;
  /** `flags.prefailure`: failing this attribute predicts failure (vs. usage/old-age). */
  prefailure: boolean;
  /** `when_failed`: "" | "now" | "past"; absent when smartctl did not say. */
  whenFailed?: 'now' | 'past' | '';
}

export interface AtaData {
  attributes: AtaAttribute[];
  /** Error count from the SMART (summary or extended comprehensive) error log. */
  errorLogCount?: number;
  /** Entries in the self-test log whose status says failed. */
  selfTestErrors?: number;
}

export interface NvmeData {
  /** Critical warning byte (bit 0 spare below threshold, 1 temperature, 2 reliability degraded, 3 read-only, 4 volatile backup failed, 5 PMR read-only). */
  criticalWarning?: number;
  mediaErrors?: number;
  /** Available spare, 0–1 (smartctl reports percent). */
  availableSpareRatio?: number;
  availableSpareThresholdRatio?: number;
  /** Percentage used, 0–1+ (can exceed 1: 255% is the cap). */
  percentageUsedRatio?: number;
  unsafeShutdowns?: number;
  errorLogEntries?: number;
  /** Data units are 512,000 bytes (NVMe spec: thousands of 512-byte units). */
  dataReadBytes?: number;
  dataWrittenBytes?: number;
  powerCycles?: number;
}

export interface ScsiErrorCounters {
  totalUncorrectedErrors?: number;
  correctedByEcc?: number;
  totalErrorsCorrected?: number;
  processedBytes?: number;
}

export interface ScsiData {
  grownDefects?: number;
  read?: ScsiErrorCounters;
  write?: ScsiErrorCounters;
  verify?: ScsiErrorCounters;
  startStopCycles?: number;
  loadUnloadCycles?: number;
}

export interface DiskIdentity {
  model?: string;
  serial?: string;
  /** Lower-case hex without separators, e.g. "5000c500a1b2c3d4". */
  wwn?: string;
  firmware?: string;
  vendor?: string;
  capacityBytes?: number;
  /** 0 for solid state, else RPM. */
  rotationRateRpm?: number;
  formFactor?: string;
}

export interface DiskReading {
  /** Stable id: `wwn-<hex>`, else `<model>_<serial>` (sanitised), else `<path>;<type>`. */
  disk: string;
  /** Device path as smartctl was given it (`/dev/sda`, `/dev/bus/0`). */
  device: string;
  /** smartctl's device type (`sat`, `nvme`, `scsi`, `megaraid,1`, `sntjmicron`, …). */
  deviceType?: string;
  protocol: Protocol;
  identity: DiskIdentity;
  /** smart_status.passed; absent when the device did not report it. */
  smartPassed?: boolean;
  temperatureCelsius?: number;
  powerOnSeconds?: number;
  powerCycles?: number;
  exitStatus: ExitStatus;
  /**
   * True when the output carried no `smartctl.exit_status` (a recording trimmed by hand):
   * `exitStatus` is then 0 by assumption, not by smartctl's word.
   */
  exitStatusAssumed?: boolean;
  /** smartctl version that produced it, e.g. "7.3". */
  smartctlVersion?: string;
  /**
   * Key counters, whatever the protocol (the predictor reads these). Filled from the ATA
   * attributes (5, 196, 197, 198, 199, 187, 188), vendor-packed raw values decoded; the NVMe and
   * SCSI evidence (media errors, grown defects, uncorrected errors) is in `nvme` and `scsi`.
   */
  counters: {
    reallocatedSectors?: number;
    reallocatedEvents?: number;
    pendingSectors?: number;
    offlineUncorrectable?: number;
    udmaCrcErrors?: number;
    reportedUncorrectable?: number;
    commandTimeouts?: number;
  };
  ata?: AtaData;
  nvme?: NvmeData;
  scsi?: ScsiData;
}

/** Why an input is not a disk reading. `kind` is also the metric reason label. */
export type SmartErrorKind =
  | 'not_json' // garbage, truncated output
  | 'not_smartctl' // JSON, but not smartctl's (no smartctl/json_format_version, wrong shape)
  | 'bad_field' // a field has the wrong type or an impossible value (e.g. beyond 2^53)
  | 'command_line' // exit bit 0
  | 'open_failed' // exit bit 1 (no permission, no such device, unknown type, asleep without data)
  | 'no_smart' // a device smartctl opened but that has no SMART data (VM disk, RAID volume)
  | 'scan'; // a --scan output, not a device reading

export class SmartParseError extends Error {
  override name = 'SmartParseError';

  constructor(
    readonly kind: SmartErrorKind,
    message: string,
    /** JSON path of the offending field, e.g. `ata_smart_attributes.table[3].raw.value`. */
    readonly path?: string,
  ) {
    // Whatever it quotes (smartctl's messages, its argv, a value), an error message stays short:
    // it goes into log lines, /health and `harbinger smart inspect`.
    super(message.length <= 1000 ? message : `${message.slice(0, 999)}…`);
  }
}

/** One entry of `smartctl --scan-open --json`. */
export interface ScannedDevice {
  /** `/dev/sda`, `/dev/bus/0`. */
  name: string;
  /** `sat`, `nvme`, `scsi`, `megaraid,0`, … */
  type: string;
  protocol?: string;
  /** smartctl --scan-open sometimes adds an open error here (`# /dev/sdb [SAT], ... failed: ...`). */
  openError?: string;
}
