import type { BalanceSettings } from '../../src/balance/settings.js';

/** The balance section's defaults as the config gives them, with no settle time unless a test sets one. */
export const BALANCE_SETTINGS: BalanceSettings = {
  agentCheck: undefined,
  drainLevel: 'failing',
  downAfter: 3,
  unknownDiskRole: 'drain',
  dataPaths: [],
  cluster: undefined,
  capacity: 1,
  reportIntervalMs: 30_000,
  coordinate: true,
  grantTimeoutMs: 120_000,
  minWeight: 10,
  settleMs: 0,
  limits: { cpuPressure: 50, memoryPressure: 20, ioPressure: 30, dbLatencySeconds: 0.25 },
};
