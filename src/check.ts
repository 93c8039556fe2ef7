import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startCollection } from './collection.js';
import type { DbReading } from './collectors/db/index.js';
import type { PressureReading } from './collectors/pressure/index.js';
import type { SmartReading } from './collectors/smart/collector.js';
import { deviceLabel } from './collectors/smart/metrics.js';
import type { CollectorDefinition } from './collectors/types.js';
import { MemoryHistoryStore, SqliteHistoryStore, type HistoryStore } from './predict/history-store.js';
import { isOverdue } from './predict/replace-by.js';
import { PredictionService, type DiskPrediction } from './predict/service.js';
import { modelFor } from './predict/settings.js';
import type { RuntimeConfig } from './runtime-config.js';
import { currentRoles } from './balance/role-inputs.js';
import { roleJson, type DiskRoleJson } from './balance/role-json.js';
import { PREDICTIONS, State } from './state.js';

/** Nagios plugin convention, so cron and monitoring checks can use the exit code as it is. */
export const CHECK_EXIT = { ok: 0, degraded: 1, failing: 2, unknown: 3 } as const;

export interface CheckReport {
  status: keyof typeof CHECK_EXIT;
  disks: DiskPrediction[];
  /** What each disk carries, by disk id: only a data disk at the drain level drains the host. */
  roles: Record<string, DiskRoleJson>;
  devicesWithoutData: Array<{ device: string; reason: string; message: string }>;
  collectorErrors: Record<string, string>;
  pressure?: { cpu?: number; memory?: number; io?: number; load1: number; memoryAvailableBytes?: number; memoryTotalBytes?: number };
  /** One probe of each configured database; they do not change the exit code, which is about disks. */
  databases: Array<{ target: string; driver: string; up: boolean; latencySeconds?: number; error?: { reason: string; message: string; fault: string } }>;
}

/**
 * `harbinger check`: every enabled collector once, the predictor over the disks (with the history
 * the agent saved, read-only: a check run as root must not write into the agent's state), and a
 * verdict as an exit code.
 */
export async function runCheck(runtime: RuntimeConfig, collectors: readonly CollectorDefinition[]): Promise<CheckReport> {
  // Warnings go to stderr so that stdout stays the report.
  const logger = pino({ level: 'warn', base: { service: 'harbinger' } }, pino.destination({ fd: 2, sync: true }));
  const readings: Record<string, unknown> = {};
  const collectorErrors: Record<string, string> = {};
  await Promise.all(
    collectors.map(async (definition) => {
      const settings = runtime.config.collector[definition.name];
      if (!settings?.enabled || definition.idle?.(settings.options)) return;
      const collector = definition.create({ settings, paths: runtime.config.path, logger: logger.child({ collector: definition.name }) });
      try {
        readings[definition.name] = await startCollection(collector, settings.timeoutMs).result;
      } catch (err) {
        collectorErrors[definition.name] = (err as Error).message;
      } finally {
        await collector.stop?.(); // an open database connection would keep the process alive
      }
    }),
  );

  const smart = readings.smart as SmartReading | undefined;
  const history = openHistoryReadOnly(runtime.config.stateDir);
  const disks = smart ? [...new PredictionService(history, logger, Date.now, modelFor(runtime.config.predict)).onSmartReading(smart).disks] : [];
  history.close();
  const rank = { ok: 0, watch: 0, degraded: 1, failing: 2 } as const;
  const worst = Math.max(0, ...disks.map((d) => rank[d.level]));
  const status = collectorErrors.smart ? 'unknown' : worst === 2 ? 'failing' : worst === 1 ? 'degraded' : 'ok';
  const pressure = readings.pressure as PressureReading | undefined;
  const databases = ((readings.db as DbReading | undefined)?.targets ?? []).map((t) => ({
    target: t.name,
    driver: t.driver,
    up: t.up === true,
    ...(t.lastLatencySeconds !== undefined ? { latencySeconds: t.lastLatencySeconds } : {}),
    ...(t.lastError ? { error: { reason: t.lastError.reason, message: t.lastError.message, fault: t.lastError.fault } } : {}),
  }));
  return {
    databases,
    status,
    roles: rolesOf(readings, collectorErrors.storage, disks, runtime),
    disks: disks.sort((a, b) => b.probability - a.probability),
    devicesWithoutData: (smart?.devices ?? [])
      .filter((d) => !d.reading && d.lastError)
      .map((d) => ({ device: deviceLabel(d), reason: d.lastError!.reason, message: d.lastError!.message })),
    collectorErrors,
    ...(pressure
      ? {
          pressure: {
            ...(pressure.psi?.cpu?.some ? { cpu: pressure.psi.cpu.some.avg60 / 100 } : {}),
            ...(pressure.psi?.memory?.some ? { memory: pressure.psi.memory.some.avg60 / 100 } : {}),
            ...(pressure.psi?.io?.some ? { io: pressure.psi.io.some.avg60 / 100 } : {}),
            load1: pressure.load.load1,
            ...(pressure.memory.has('MemAvailable') ? { memoryAvailableBytes: pressure.memory.get('MemAvailable') } : {}),
            ...(pressure.memory.has('MemTotal') ? { memoryTotalBytes: pressure.memory.get('MemTotal') } : {}),
          },
        }
      : {}),
  };
}

/** The roles the agent would give the disks, from this one round of readings. */
function rolesOf(readings: Record<string, unknown>, storageError: string | undefined, disks: DiskPrediction[], runtime: RuntimeConfig): Record<string, DiskRoleJson> {
  const state = new State();
  for (const [name, reading] of Object.entries(readings)) state.setReading(name, reading, Date.now());
  state.setReading(PREDICTIONS, { disks, historyWriteErrors: 0 }, Date.now());
  const storage = state.status('storage');
  storage.enabled = runtime.config.collector.storage?.enabled ?? false;
  if (storageError) storage.lastError = storageError;
  const roles = currentRoles(state, runtime.config.balance);
  return Object.fromEntries(disks.map((d) => [d.disk, roleJson(roles.get(d.disk))]));
}

/** The agent's saved history, never written to from here. */
function openHistoryReadOnly(stateDir: string): HistoryStore {
  const file = join(stateDir, 'history.sqlite');
  let store: HistoryStore = new MemoryHistoryStore();
  if (existsSync(file)) {
    try {
      store = new SqliteHistoryStore(file, { readonly: true });
    } catch {
      // unreadable (permissions): predict from the current readings alone
    }
  }
  return { append: () => {}, history: (disk, since) => store.history(disk, since), alarm: (disk) => store.alarm(disk), saveAlarm: () => {}, close: () => store.close() };
}

const pct = (ratio: number | undefined) => (ratio === undefined ? '-' : `${(ratio * 100).toFixed(1)}%`);

export function formatCheck(report: CheckReport, nowMs = Date.now()): string {
  const rows = [['DISK', 'DEVICE', 'MODEL', 'LEVEL', 'P(30d)', 'REPLACE BY', 'ROLE', 'TOP EVIDENCE']];
  for (const d of report.disks) {
    const replaceBy = d.replaceBy === undefined ? '' : isOverdue(d.replaceBy, nowMs) ? `${d.replaceBy} OVERDUE` : d.replaceBy;
    rows.push([d.disk, d.device, d.model ?? '', d.level.toUpperCase(), pct(d.probability), replaceBy, report.roles[d.disk]?.role ?? 'unknown', d.evidence[0]?.note ?? '']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  if (report.disks.length === 0) lines.push('(no disks with SMART data)');
  for (const d of report.disks) {
    const role = report.roles[d.disk];
    if (role) lines.push(`${d.disk}: ${role.role}: ${role.reason}`);
  }
  for (const d of report.devicesWithoutData) lines.push(`${d.device}: no SMART data (${d.reason}): ${d.message}`);
  for (const [name, message] of Object.entries(report.collectorErrors)) lines.push(`collector ${name} failed: ${message}`);
  const p = report.pressure;
  if (p) {
    const mem = p.memoryAvailableBytes !== undefined && p.memoryTotalBytes ? `, memory available ${pct(p.memoryAvailableBytes / p.memoryTotalBytes)}` : '';
    lines.push('', `pressure (share of the last minute some task waited): cpu ${pct(p.cpu)}, memory ${pct(p.memory)}, io ${pct(p.io)}; load1 ${p.load1}${mem}`);
  }
  if (report.databases.length > 0) lines.push('');
  for (const d of report.databases) {
    const failed = d.error?.fault === 'monitoring' ? 'NOT WATCHED, a monitoring fault' : 'DOWN';
    const state = d.up ? `up, probe ${((d.latencySeconds ?? 0) * 1000).toFixed(1)} ms` : `${failed} (${d.error?.reason ?? 'no answer'}): ${d.error?.message ?? ''}`;
    lines.push(`database ${d.target} (${d.driver}): ${state}`);
  }
  lines.push('', `status: ${report.status.toUpperCase()}`);
  return `${lines.join('\n')}\n`;
}
