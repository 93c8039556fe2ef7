import type { DbReading } from '../collectors/db/index.js';
import type { StorageReading } from '../collectors/storage/index.js';
import type { PredictionsReading } from '../predict/service.js';
import { resolvedPath } from '../resolved-path.js';
import { PREDICTIONS, type State } from '../state.js';
import { diskRoles, type DataLocation, type DiskRoleInfo, type RoleInput } from './disk-roles.js';
import type { BalanceSettings } from './settings.js';

/** The name `balance.data_paths` goes by where a target's name would be. */
export const CONFIGURED_PATHS = 'balance.data_paths';
/** Stands for "nothing says where the data is" among the unknown locations; never shown as a target. */
const NO_SOURCE = '';

/**
 * What every disk carries, from the latest readings: the SMART disks, the block-device tree
 * (the storage collector) and where each database that counts for the balance keeps its data.
 * A disk behind a RAID controller (`megaraid,N`) is reached through the controller's volume: the
 * array behind it is not visible here, so its role is unknown.
 */
export function currentRoles(state: State, settings: BalanceSettings, resolve: (path: string) => string = resolvedPath): Map<string, DiskRoleInfo> {
  const disks = state.reading<PredictionsReading>(PREDICTIONS)?.disks ?? [];
  if (disks.length === 0) return new Map();
  const behindController = disks.filter((d) => d.device.includes(';'));
  const direct = disks.filter((d) => !d.device.includes(';'));
  const input: RoleInput = {
    storage: state.reading<StorageReading>('storage'),
    disks: direct.map((d) => ({ disk: d.disk, device: resolve(d.device) })),
    ...locations(state, settings),
  };
  const storageStatus = state.status('storage');
  if (!input.storage) {
    input.storageProblem = storageStatus.enabled ? (storageStatus.lastError ?? 'the block devices have not been read yet') : 'the storage collector is off (collector.storage.enabled: false)';
  }
  const roles = diskRoles(input);
  for (const role of roles.values()) role.targets = role.targets.filter((t) => t !== NO_SOURCE);
  for (const d of behindController) {
    const type = d.device.split(';')[1];
    roles.set(d.disk, { role: 'unknown', targets: [], paths: [], reason: `it is behind a RAID controller (${type}), whose array harbinger cannot see` });
  }
  return roles;
}

function locations(state: State, settings: BalanceSettings): Pick<RoleInput, 'locations' | 'unknownLocations'> {
  const known: DataLocation[] = [];
  const unknown: Array<{ target: string; why: string }> = [];
  if (settings.dataPaths.length > 0) known.push({ target: CONFIGURED_PATHS, paths: settings.dataPaths.map(resolvedPath) });
  const db = state.reading<DbReading>('db');
  const targets = (db?.targets ?? []).filter((t) => t.balance !== 'ignore');
  for (const t of targets) {
    const where = t.dataPaths;
    if (where && 'paths' in where) known.push({ target: t.name, paths: where.paths });
    else unknown.push({ target: t.name, why: where?.problem ?? 'it has not been reached yet' });
  }
  if (known.length === 0 && unknown.length === 0) {
    unknown.push({ target: NO_SOURCE, why: 'no database target (collector.db.targets) and no balance.data_paths say where the data is' });
  }
  return { locations: known, unknownLocations: unknown };
}

