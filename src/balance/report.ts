import type { DbReading } from '../collectors/db/index.js';
import type { PressureReading } from '../collectors/pressure/index.js';
import type { BalanceReport, DatabaseLoad, HostLoad } from '../protocol/balance-report.js';
import type { State } from '../state.js';
import type { DrainCoordination } from './drain-request.js';
import { overrideJson } from './override.js';
import type { BalanceStatus } from './service.js';
import type { BalanceSettings } from './settings.js';

/** Host PSI `some`, 60 s averages, percent of time: what the weight and the report both use; undefined without PSI. */
export function psiAverages(pressure: PressureReading | undefined): { cpu?: number; memory?: number; io?: number } | undefined {
  const psi = pressure?.psi;
  if (!psi) return undefined;
  const out: { cpu?: number; memory?: number; io?: number } = {};
  for (const resource of ['cpu', 'memory', 'io'] as const) {
    const avg60 = psi[resource]?.some?.avg60;
    if (avg60 !== undefined) out[resource] = avg60;
  }
  return out;
}

/**
 * The host's load as the collector weighs it: CPU utilisation (what a member would have to take
 * over), pressure, and each counted database's latency, statements per second and connections
 * against max_connections, where they are read. A value not read is left out, never guessed.
 */
export function hostLoad(state: State): HostLoad {
  const pressure = state.reading<PressureReading>('pressure');
  const load: HostLoad = { databases: [] };
  if (pressure?.cpu) {
    // The minute's figure: one interval's is too noisy to grant or defer a drain on.
    load.cpuUtilization = Math.min(1, Math.max(0, pressure.cpu.utilization1m));
    load.cores = pressure.cpu.cores;
  }
  const averages = psiAverages(pressure);
  if (averages) load.pressure = averages;
  for (const t of state.reading<DbReading>('db')?.targets ?? []) {
    if (t.balance === 'ignore') continue;
    const db: DatabaseLoad = { target: t.name };
    if (t.up === true && t.lastLatencySeconds !== undefined) db.latencySeconds = t.lastLatencySeconds;
    if (t.statements) db.statementsPerSecond = t.statements.total.callsPerSecond;
    if (t.status) {
      db.connections = Object.values(t.status.connections).reduce((a, b) => a + b, 0);
      db.maxConnections = t.status.maxConnections;
    }
    load.databases.push(db);
  }
  return load;
}

/** The retained `<root>/<host>/balance` report, from the published decision and the drain request. */
export function balanceReport(
  host: string,
  status: BalanceStatus,
  coordination: DrainCoordination | undefined,
  state: State,
  settings: BalanceSettings,
  nowMs: number,
): BalanceReport {
  const request = coordination?.request();
  const answer = coordination?.answer();
  return {
    host,
    ...(settings.cluster !== undefined ? { cluster: settings.cluster } : {}),
    capacity: settings.capacity,
    timeMs: nowMs,
    reportIntervalSeconds: Math.max(1, Math.round(settings.reportIntervalMs / 1000)),
    state: status.state,
    weight: status.weight,
    reasons: status.reasons,
    sinceMs: status.sinceMs,
    decidedBy: status.decidedBy,
    own: { state: status.current.state, weight: status.current.weight, reasons: status.current.reasons },
    override: overrideJson(status.override),
    ...(request ? { request } : {}),
    ...(answer ? { answer: { request: answer.request, state: answer.state, decidedMs: answer.decidedMs, collector: answer.collector } } : {}),
    load: hostLoad(state),
  };
}
