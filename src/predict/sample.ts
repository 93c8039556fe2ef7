/**
 * One smartctl reading → the DiskSample the predictor keeps. Only what the features and rules read;
 * a field the reading did not carry stays absent (unknown), never 0.
 */
import type { DiskReading } from '../collectors/smart/reading.js';
import type { DiskSample } from './types.js';

/** Sum of the fields that are present; undefined when none is. */
function sumPresent(values: ReadonlyArray<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? undefined : present.reduce((a, b) => a + b, 0);
}

export function sampleFromReading(reading: DiskReading, atMs: number): DiskSample {
  const sample: DiskSample = { atMs, protocol: reading.protocol };
  const set = <K extends keyof DiskSample>(key: K, value: DiskSample[K] | undefined): void => {
    if (value !== undefined) sample[key] = value;
  };
  set('smartPassed', reading.smartPassed);
  // A hand-trimmed recording without smartctl.exit_status has exit status 0 by assumption: its bits
  // are no evidence either way.
  if (!reading.exitStatusAssumed) {
    sample.exitDiskFailing = reading.exitStatus.diskFailing;
    sample.exitPrefailBelowThreshold = reading.exitStatus.prefailBelowThreshold;
  }
  if (reading.powerOnSeconds !== undefined) sample.powerOnHours = reading.powerOnSeconds / 3600;
  const c = reading.counters;
  set('reallocatedSectors', c.reallocatedSectors);
  set('reportedUncorrectable', c.reportedUncorrectable);
  set('commandTimeouts', c.commandTimeouts);
  set('reallocationEvents', c.reallocatedEvents);
  set('pendingSectors', c.pendingSectors);
  set('offlineUncorrectable', c.offlineUncorrectable);
  set('udmaCrcErrors', c.udmaCrcErrors);
  set('ataErrorLogCount', reading.ata?.errorLogCount);
  set('selfTestErrors', reading.ata?.selfTestErrors);
  const nvme = reading.nvme;
  if (nvme) {
    set('nvmeCriticalWarning', nvme.criticalWarning);
    set('nvmeMediaErrors', nvme.mediaErrors);
    set('nvmeAvailableSpareRatio', nvme.availableSpareRatio);
    set('nvmeAvailableSpareThresholdRatio', nvme.availableSpareThresholdRatio);
    set('nvmePercentageUsedRatio', nvme.percentageUsedRatio);
    set('nvmeErrorLogEntries', nvme.errorLogEntries);
  }
  const scsi = reading.scsi;
  if (scsi) {
    set('scsiGrownDefects', scsi.grownDefects);
    set('scsiUncorrectedErrors', sumPresent([scsi.read, scsi.write, scsi.verify].map((log) => log?.totalUncorrectedErrors)));
  }
  set('serial', reading.identity.serial);
  set('model', reading.identity.model);
  return sample;
}
