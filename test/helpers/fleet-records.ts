import type { DiskRecord, FleetEvent, HostStatus, RiskLevel } from '../../src/fleet/types.js';

/** Records as the collector stores them, for store and schedule tests. */

export const T0 = Date.parse('2026-11-28T12:00:00.000Z');
const PROBABILITY: Record<RiskLevel, number> = { ok: 0.01, watch: 0.2, degraded: 0.6, failing: 0.95 };

export function diskRecord(host: string, disk: string, level: RiskLevel, extra: Partial<DiskRecord> = {}): DiskRecord {
  const alarm = level === 'degraded' || level === 'failing';
  return {
    host,
    disk,
    slot: disk,
    device: `/dev/${disk}`,
    model: 'TEST MODEL',
    serial: `SN-${host}-${disk}`,
    protocol: 'ata',
    level,
    predictedLevel: level,
    probability: PROBABILITY[level],
    horizonDays: 30,
    ...(alarm ? { replaceBy: '2026-12-20', episodeStarted: '2026-11-27T08:00:00.000Z' } : {}),
    evidence: alarm
      ? [
          { signal: 'pending_sectors', value: 8, note: '8 sectors are waiting to be reallocated.', change_7d: 8 },
          { signal: 'reallocated_sectors_growth_7d', value: 96, note: '96 sectors reallocated in 7 days.', threshold: 8 },
          { signal: 'udma_crc_errors', value: 2, note: 'CRC errors: check the cable.' },
          { signal: 'command_timeouts', value: 1, note: 'A command timed out.' },
        ]
      : [],
    lastReading: new Date(T0).toISOString(),
    updatedMs: T0,
    ...extra,
  };
}

export function statusRecord(host: string, state: 'online' | 'offline', boot = 1, receivedMs = T0): HostStatus {
  return {
    host,
    state,
    ...(state === 'offline' ? { reason: 'shutdown' } : {}),
    version: '0.1.0',
    boot,
    started: new Date(T0 - 60_000).toISOString(),
    receivedMs,
  };
}

export function eventRecord(host: string, id: string, extra: Partial<FleetEvent> = {}): FleetEvent {
  return {
    source: `harbinger://${host}`,
    id,
    type: 'io.harbinger.disk.failure_predicted.v1',
    subject: 'sdb',
    time: new Date(T0).toISOString(),
    host,
    disk: 'sdb',
    data: { host, disk: 'sdb', level: 'degraded', previous_level: 'ok', note: 'a "quoted", odd\nvalue' },
    receivedMs: T0,
    ...extra,
  };
}
