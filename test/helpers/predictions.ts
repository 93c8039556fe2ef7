import type { DiskPrediction } from '../../src/predict/service.js';
import type { RiskLevel } from '../../src/predict/types.js';

const PROBABILITY: Record<RiskLevel, number> = { ok: 0.01, watch: 0.2, degraded: 0.6, failing: 0.95 };

/** A prediction as the PredictionService makes it, for driving the MQTT side without disks. */
export function prediction(disk: string, level: RiskLevel, readingAtMs: number, extra: Partial<DiskPrediction> = {}): DiskPrediction {
  return {
    disk,
    device: `/dev/${disk}`,
    protocol: 'ata',
    model: 'TEST MODEL',
    serial: `SN-${disk}`,
    level,
    probability: PROBABILITY[level],
    horizonDays: 30,
    ...(level === 'ok' ? {} : { replaceBy: '2026-12-24' }),
    evidence: level === 'ok' ? [] : [{ signal: 'pending_sectors', value: 8, change7d: 8, threshold: 1, note: '8 sectors are waiting to be reallocated.' }],
    readingAtMs,
    ...extra,
  };
}
