import { RISK_LEVELS } from '../predict/types.js';
import { isOverdue } from '../predict/replace-by.js';
import type { MaintenanceItem } from './maintenance.js';
import { HOST_STATES, type DiskRecord, type FleetEvent, type HostRecord, type HostState, type RiskLevel } from './types.js';

/**
 * The JSON of /api/fleet, /api/maintenance and /api/events. Keys are snake_case like the agents'
 * payloads; absent values are null, so every object of a kind has the same keys.
 */

const iso = (ms: number) => new Date(ms).toISOString();

/** Every host with its disks. A host seen only through its disks (no status yet) is `unknown`. */
export function fleetHosts(hosts: readonly HostRecord[], disks: readonly DiskRecord[]): Array<HostRecord & { disks: DiskRecord[] }> {
  const byHost = new Map<string, HostRecord & { disks: DiskRecord[] }>();
  for (const h of hosts) byHost.set(h.host, { ...h, disks: [] });
  for (const d of disks) {
    let host = byHost.get(d.host);
    if (!host) {
      host = { host: d.host, state: 'unknown', lastSeenMs: d.updatedMs, disks: [] };
      byHost.set(d.host, host);
    }
    host.disks.push(d);
  }
  return [...byHost.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
}

export interface FleetSummary {
  hosts: Record<HostState, number>;
  disks: Record<RiskLevel, number>;
}

export function fleetSummary(hosts: ReturnType<typeof fleetHosts>): FleetSummary {
  const summary: FleetSummary = {
    hosts: Object.fromEntries(HOST_STATES.map((s) => [s, 0])) as Record<HostState, number>,
    disks: Object.fromEntries(RISK_LEVELS.map((l) => [l, 0])) as Record<RiskLevel, number>,
  };
  for (const h of hosts) {
    summary.hosts[h.state]++;
    for (const d of h.disks) summary.disks[d.level]++;
  }
  return summary;
}

export function fleetJson(hosts: ReturnType<typeof fleetHosts>, nowMs: number): object {
  return {
    generated: iso(nowMs),
    summary: fleetSummary(hosts),
    hosts: hosts.map((h) => ({
      host: h.host,
      state: h.state,
      reason: h.reason ?? null,
      version: h.version ?? null,
      boot: h.boot ?? null,
      started: h.started ?? null,
      last_seen: iso(h.lastSeenMs),
      disks: h.disks.map(diskJson),
    })),
  };
}

export function diskJson(d: DiskRecord): object {
  return {
    disk: d.disk,
    device: d.device,
    model: d.model ?? null,
    serial: d.serial ?? null,
    protocol: d.protocol ?? null,
    level: d.level,
    predicted_level: d.predictedLevel,
    probability: d.probability,
    horizon_days: d.horizonDays ?? null,
    replace_by: d.replaceBy ?? null,
    episode_started: d.episodeStarted ?? null,
    last_reading: d.lastReading,
    updated: iso(d.updatedMs),
    evidence: d.evidence,
  };
}

export function maintenanceJson(items: readonly MaintenanceItem[], nowMs: number): object {
  return {
    generated: iso(nowMs),
    disks: items.map((m) => ({
      host: m.host,
      host_state: m.hostState,
      disk: m.disk,
      device: m.device,
      model: m.model ?? null,
      serial: m.serial ?? null,
      level: m.level,
      probability: m.probability,
      horizon_days: m.horizonDays ?? null,
      replace_by: m.replaceBy ?? null,
      overdue: m.replaceBy !== undefined && isOverdue(m.replaceBy, nowMs),
      episode_started: m.episodeStarted ?? null,
      last_reading: m.lastReading,
      evidence: m.evidence,
    })),
  };
}

export function eventsJson(events: readonly FleetEvent[]): object {
  return {
    events: events.map((e) => ({
      source: e.source,
      id: e.id,
      type: e.type,
      subject: e.subject,
      time: e.time,
      host: e.host,
      disk: e.disk,
      received: iso(e.receivedMs),
      data: e.data,
    })),
  };
}
