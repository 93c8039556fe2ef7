import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import type { DiskPrediction, PredictionsReading } from './service.js';
import { RISK_LEVELS } from './types.js';

type Latest = () => PredictionsReading | undefined;

function perDisk(registry: Registry, latest: Latest, name: string, help: string, value: (p: DiskPrediction) => number | undefined): void {
  stateFamily(registry, {
    name,
    help,
    type: 'gauge',
    labelNames: ['disk', 'device'],
    *samples() {
      for (const p of latest()?.disks ?? []) {
        const v = value(p);
        if (v !== undefined) yield { labels: { disk: p.disk, device: p.device }, value: v };
      }
    },
  });
}

export function registerPredictionMetrics(registry: Registry, latest: Latest): void {
  perDisk(registry, latest, 'harbinger_disk_failure_probability', 'Probability that the disk fails within the horizon (30 days), 0-1.', (p) => p.probability);
  perDisk(
    registry,
    latest,
    'harbinger_disk_risk_level',
    `Risk level: ${RISK_LEVELS.map((l, i) => `${i} ${l}`).join(', ')}. Alert on >= 2.`,
    (p) => RISK_LEVELS.indexOf(p.level),
  );
  perDisk(registry, latest, 'harbinger_disk_replace_by_timestamp_seconds', 'Replace the disk by this day (its start, Unix time): set when the disk enters the alarm (degraded or failing), only ever nearer; absent when no alarm is open (none, or 7 days below it).', (p) =>
    p.replaceBy === undefined ? undefined : Date.parse(`${p.replaceBy}T00:00:00Z`) / 1000,
  );
  stateFamily(registry, {
    name: 'harbinger_history_write_errors_total',
    help: 'Disk samples that could not be saved to the history store (state directory full or read-only).',
    type: 'counter',
    *samples() {
      const reading = latest();
      if (reading) yield { labels: {}, value: reading.historyWriteErrors };
    },
  });
}
