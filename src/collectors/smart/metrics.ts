import type { Registry } from 'prom-client';
import { stateFamily, type Labels, type Sample } from '../../metrics/state-family.js';
import type { DeviceState, SmartReading } from './collector.js';
import type { DiskReading, ExitStatus } from './reading.js';

/** The `device` label: the path, plus the passthrough type where several disks share a path. */
export function deviceLabel(state: Pick<DeviceState, 'spec'>): string {
  const { path, type } = state.spec;
  return type && type.includes(',') ? `${path};${type}` : path;
}

type Latest = () => SmartReading | undefined;

function* withReadings(latest: Latest): Generator<[DeviceState, DiskReading, Labels]> {
  for (const state of latest()?.devices ?? []) {
    if (state.reading) yield [state, state.reading, { disk: state.reading.disk, device: deviceLabel(state) }];
  }
}

/** A per-disk gauge from one optional number of the reading. */
function diskGauge(registry: Registry, latest: Latest, name: string, help: string, pick: (r: DiskReading) => number | undefined, type: 'gauge' | 'counter' = 'gauge') {
  stateFamily(registry, {
    name,
    help,
    type,
    labelNames: ['disk', 'device'],
    *samples() {
      for (const [, reading, labels] of withReadings(latest)) {
        const value = pick(reading);
        if (value !== undefined && Number.isFinite(value)) yield { labels, value };
      }
    },
  });
}

const EXIT_FLAGS: ReadonlyArray<[keyof ExitStatus, string]> = [
  ['commandFailed', 'command_failed'],
  ['diskFailing', 'disk_failing'],
  ['prefailBelowThreshold', 'prefail_below_threshold'],
  ['pastBelowThreshold', 'past_below_threshold'],
  ['errorLogHasErrors', 'error_log_has_errors'],
  ['selfTestLogHasErrors', 'self_test_log_has_errors'],
];

export function registerSmartMetrics(registry: Registry, latest: Latest): void {
  stateFamily(registry, {
    name: 'harbinger_disk_info',
    help: 'Identity of a disk: model, serial, WWN, firmware, protocol, smartctl type, form factor. Always 1.',
    type: 'gauge',
    labelNames: ['disk', 'device', 'type', 'protocol', 'model', 'serial', 'wwn', 'firmware', 'form_factor'],
    *samples() {
      for (const [state, r, labels] of withReadings(latest)) {
        const id = r.identity;
        yield {
          labels: {
            ...labels,
            type: r.deviceType ?? state.spec.type ?? '',
            protocol: r.protocol,
            model: id.model ?? '',
            serial: id.serial ?? '',
            wwn: id.wwn ?? '',
            firmware: id.firmware ?? '',
            form_factor: id.formFactor ?? '',
          },
          value: 1,
        };
      }
    },
  });
  const g = (name: string, help: string, pick: (r: DiskReading) => number | undefined, type: 'gauge' | 'counter' = 'gauge') =>
    diskGauge(registry, latest, name, help, pick, type);
  g('harbinger_disk_capacity_bytes', 'User capacity of the disk.', (r) => r.identity.capacityBytes);
  g('harbinger_disk_rotation_rate_rpm', 'Spindle speed; 0 for solid state.', (r) => r.identity.rotationRateRpm);
  g('harbinger_disk_smart_status_passed', "The drive's own verdict: 1 SMART overall health passed, 0 failed.", (r) =>
    r.smartPassed === undefined ? undefined : Number(r.smartPassed),
  );
  g('harbinger_disk_temperature_celsius', 'Current temperature.', (r) => r.temperatureCelsius);
  g('harbinger_disk_power_on_seconds', 'Power-on time.', (r) => r.powerOnSeconds);
  g('harbinger_disk_power_cycles', 'Power cycles.', (r) => r.powerCycles);
  g('harbinger_disk_smartctl_exit_status', "smartctl's exit status bitmask (smartctl(8) RETURN VALUES).", (r) => r.exitStatus.raw);
  g('harbinger_disk_reallocated_sectors', 'Reallocated sectors (ATA 5).', (r) => r.counters.reallocatedSectors);
  g('harbinger_disk_reallocation_events', 'Reallocation events (ATA 196).', (r) => r.counters.reallocatedEvents);
  g('harbinger_disk_pending_sectors', 'Sectors waiting to be remapped (ATA 197).', (r) => r.counters.pendingSectors);
  g('harbinger_disk_offline_uncorrectable_sectors', 'Sectors the offline scan could not read (ATA 198).', (r) => r.counters.offlineUncorrectable);
  g('harbinger_disk_udma_crc_errors', 'Interface CRC errors: usually the cable or backplane (ATA 199).', (r) => r.counters.udmaCrcErrors);
  g('harbinger_disk_reported_uncorrectable_errors', 'Errors ECC could not recover (ATA 187).', (r) => r.counters.reportedUncorrectable);
  g('harbinger_disk_command_timeouts', 'Aborted commands due to timeouts (ATA 188, decoded).', (r) => r.counters.commandTimeouts);
  g('harbinger_disk_ata_error_log_entries', 'Errors in the ATA SMART error log.', (r) => r.ata?.errorLogCount);
  g('harbinger_disk_self_test_errors', 'Failed entries in the self-test log.', (r) => r.ata?.selfTestErrors);
  g('harbinger_disk_nvme_critical_warning', 'NVMe critical warning bits (0: none).', (r) => r.nvme?.criticalWarning);
  g('harbinger_disk_nvme_media_errors', 'NVMe media and data integrity errors.', (r) => r.nvme?.mediaErrors);
  g('harbinger_disk_nvme_available_spare_ratio', 'NVMe available spare, 0-1.', (r) => r.nvme?.availableSpareRatio);
  g('harbinger_disk_nvme_available_spare_threshold_ratio', 'NVMe available spare threshold, 0-1.', (r) => r.nvme?.availableSpareThresholdRatio);
  g('harbinger_disk_nvme_percentage_used_ratio', 'NVMe endurance used, 0-1 (can exceed 1).', (r) => r.nvme?.percentageUsedRatio);
  g('harbinger_disk_nvme_unsafe_shutdowns', 'NVMe unsafe shutdowns.', (r) => r.nvme?.unsafeShutdowns);
  g('harbinger_disk_nvme_error_log_entries', 'NVMe error information log entries.', (r) => r.nvme?.errorLogEntries);
  g('harbinger_disk_read_bytes_total', 'Bytes read over the life of the disk (NVMe data units).', (r) => r.nvme?.dataReadBytes, 'counter');
  g('harbinger_disk_written_bytes_total', 'Bytes written over the life of the disk (NVMe data units).', (r) => r.nvme?.dataWrittenBytes, 'counter');
  g('harbinger_disk_scsi_grown_defects', 'SCSI grown defect list entries.', (r) => r.scsi?.grownDefects);
  g('harbinger_disk_scsi_start_stop_cycles', 'SCSI accumulated start-stop cycles.', (r) => r.scsi?.startStopCycles);
  g('harbinger_disk_scsi_load_unload_cycles', 'SCSI accumulated load-unload cycles.', (r) => r.scsi?.loadUnloadCycles);
  const scsiOps = (name: string, help: string, pick: (c: NonNullable<NonNullable<DiskReading['scsi']>['read']>) => number | undefined) =>
    stateFamily(registry, {
      name,
      help,
      type: 'gauge',
      labelNames: ['disk', 'device', 'operation'],
      *samples() {
        for (const [, r, labels] of withReadings(latest)) {
          for (const operation of ['read', 'write', 'verify'] as const) {
            const counters = r.scsi?.[operation];
            const value = counters ? pick(counters) : undefined;
            if (value !== undefined) yield { labels: { ...labels, operation }, value };
          }
        }
      },
    });
  scsiOps('harbinger_disk_scsi_uncorrected_errors', 'SCSI errors not corrected, by operation (error counter log).', (c) => c.totalUncorrectedErrors);
  scsiOps('harbinger_disk_scsi_corrected_errors', 'SCSI errors corrected, by operation (error counter log).', (c) => c.totalErrorsCorrected);
  registerAttributeMetrics(registry, latest);
  registerDeviceMetrics(registry, latest);
}

function registerAttributeMetrics(registry: Registry, latest: Latest): void {
  const attribute = (name: string, help: string, pick: (a: NonNullable<DiskReading['ata']>['attributes'][number]) => number | undefined) =>
    stateFamily(registry, {
      name,
      help,
      type: 'gauge',
      labelNames: ['disk', 'device', 'id', 'name'],
      *samples() {
        for (const [, r, labels] of withReadings(latest)) {
          for (const a of r.ata?.attributes ?? []) {
            const value = pick(a);
            if (value !== undefined) yield { labels: { ...labels, id: String(a.id), name: a.name }, value };
          }
        }
      },
    });
  attribute('harbinger_disk_ata_attribute_value', 'ATA SMART attribute, normalized value.', (a) => a.value);
  attribute('harbinger_disk_ata_attribute_worst', 'ATA SMART attribute, worst normalized value.', (a) => a.worst);
  attribute('harbinger_disk_ata_attribute_threshold', 'ATA SMART attribute, failure threshold.', (a) => a.thresh);
  attribute('harbinger_disk_ata_attribute_raw', 'ATA SMART attribute, raw value (vendor-packed values decoded).', (a) => a.raw);
  stateFamily(registry, {
    name: 'harbinger_disk_smartctl_exit_flag',
    help: 'The evidence bits of smartctl\'s exit status, one series per flag: 1 set, 0 clear.',
    type: 'gauge',
    labelNames: ['disk', 'device', 'flag'],
    *samples() {
      for (const [, r, labels] of withReadings(latest)) {
        for (const [key, flag] of EXIT_FLAGS) yield { labels: { ...labels, flag }, value: Number(r.exitStatus[key]) };
      }
    },
  });
}

function registerDeviceMetrics(registry: Registry, latest: Latest): void {
  const perDisk = (name: string, help: string, value: (s: DeviceState) => number | undefined) =>
    stateFamily(registry, {
      name,
      help,
      type: 'gauge',
      labelNames: ['disk', 'device'],
      *samples() {
        for (const [state, , labels] of withReadings(latest)) {
          const v = value(state);
          if (v !== undefined) yield { labels, value: v };
        }
      },
    });
  perDisk('harbinger_disk_standby', 'Power state at the last round: 1 asleep (not woken; values are from the last read), 0 active.', (s) => Number(s.asleep));
  perDisk('harbinger_disk_last_reading_timestamp_seconds', 'When SMART data was last read from the disk.', (s) =>
    s.readingAtMs === undefined ? undefined : s.readingAtMs / 1000,
  );
  stateFamily(registry, {
    name: 'harbinger_smart_device_up',
    help: 'Whether the last attempt on a device gave SMART data or found it asleep (1), or failed (0; see the errors counter).',
    type: 'gauge',
    labelNames: ['device'],
    *samples() {
      for (const state of latest()?.devices ?? []) yield { labels: { device: deviceLabel(state) }, value: state.lastError ? 0 : 1 };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_smart_device_errors_total',
    help: 'Failed reads of a device, by reason (timeout, open_failed, no_smart, not_json, output_too_large, …).',
    type: 'counter',
    labelNames: ['device', 'reason'],
    *samples() {
      for (const state of latest()?.devices ?? []) {
        for (const [reason, count] of Object.entries(state.errorsTotal)) {
          yield { labels: { device: deviceLabel(state), reason }, value: count ?? 0 } satisfies Sample;
        }
      }
    },
  });
  stateFamily(registry, {
    name: 'harbinger_smart_scan_success',
    help: 'Whether the last device scan (smartctl --scan-open) succeeded.',
    type: 'gauge',
    *samples() {
      const reading = latest();
      if (reading) yield { labels: {}, value: reading.scanError ? 0 : 1 };
    },
  });
}
