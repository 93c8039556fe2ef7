import { isRealDate, parseDateTime } from '../protocol/dates.js';
import type { DiskRecord, Evidence, HostRecord, HostState, RiskLevel } from './types.js';

/**
 * The levels that put a disk on the maintenance schedule: the ones with a replace-by date.
 * `watch` is not there: it is worth a look, not a replacement (and has no date); /api/fleet
 * shows it.
 */
export const MAINTENANCE_LEVELS: readonly RiskLevel[] = ['degraded', 'failing'];

/** Evidence entries kept per disk on the schedule: the strongest, which the agent lists first. */
export const TOP_EVIDENCE = 3;

export interface MaintenanceItem {
  host: string;
  hostState: HostState;
  disk: string;
  device: string;
  model?: string;
  serial?: string;
  level: RiskLevel;
  probability: number;
  horizonDays?: number;
  replaceBy?: string;
  episodeStarted?: string;
  lastReading: string;
  updatedMs: number;
  evidence: Evidence[];
}

/** Told of a stored row that a feed shows without a field, or leaves out (`field` = row), and why. */
export type BadRowReport = (row: { host: string; disk: string }, field: string, problem: string) => void;

/**
 * A stored disk row without the dates that are not real dates: rows stored before the collector
 * checked them as dates (a replace_by of 2026-02-31 passed the old shape check). The disk stays on
 * the schedule, as one to replace as soon as possible, and no feed breaks on it.
 */
function withRealDates(d: DiskRecord, report: BadRowReport | undefined): DiskRecord {
  let row = d;
  if (row.replaceBy !== undefined && !isRealDate(row.replaceBy)) {
    report?.(d, 'replace_by', `${JSON.stringify(row.replaceBy)} is not a real date`);
    const { replaceBy: _bad, ...rest } = row;
    row = rest;
  }
  if (row.episodeStarted !== undefined && parseDateTime(row.episodeStarted) === undefined) {
    report?.(d, 'episode_started', `${JSON.stringify(row.episodeStarted)} is not a real date-time`);
    const { episodeStarted: _bad, ...rest } = row;
    row = rest;
  }
  return row;
}

/**
 * Disks to replace, soonest first: by replace-by date (a disk without one last), then the more
 * likely to fail first, then by host and disk so the order is stable.
 */
export function maintenanceSchedule(disks: readonly DiskRecord[], hosts: readonly HostRecord[], report?: BadRowReport): MaintenanceItem[] {
  const stateOf = new Map(hosts.map((h) => [h.host, h.state]));
  return disks
    .filter((d) => MAINTENANCE_LEVELS.includes(d.level))
    .map((d) => withRealDates(d, report))
    .map((d) => ({
      host: d.host,
      hostState: stateOf.get(d.host) ?? 'unknown',
      disk: d.disk,
      device: d.device,
      ...(d.model !== undefined ? { model: d.model } : {}),
      ...(d.serial !== undefined ? { serial: d.serial } : {}),
      level: d.level,
      probability: d.probability,
      ...(d.horizonDays !== undefined ? { horizonDays: d.horizonDays } : {}),
      ...(d.replaceBy !== undefined ? { replaceBy: d.replaceBy } : {}),
      ...(d.episodeStarted !== undefined ? { episodeStarted: d.episodeStarted } : {}),
      lastReading: d.lastReading,
      updatedMs: d.updatedMs,
      evidence: d.evidence.slice(0, TOP_EVIDENCE),
    }))
    .sort(compareMaintenance);
}

export function compareMaintenance(a: MaintenanceItem, b: MaintenanceItem): number {
  if (a.replaceBy !== b.replaceBy) {
    if (a.replaceBy === undefined) return 1;
    if (b.replaceBy === undefined) return -1;
    return a.replaceBy < b.replaceBy ? -1 : 1;
  }
  if (a.probability !== b.probability) return b.probability - a.probability;
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  return a.disk < b.disk ? -1 : a.disk > b.disk ? 1 : 0;
}

/** What the schedule calls the disk: model and serial when known, else its id. */
export function diskLabel(item: { model?: string; serial?: string; disk: string }): string {
  return [item.model, item.serial].filter(Boolean).join(' ') || item.disk;
}
