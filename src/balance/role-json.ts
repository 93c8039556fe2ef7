import type { DiskRoleInfo } from './disk-roles.js';

export interface DiskRoleJson {
  role: DiskRoleInfo['role'];
  reason: string;
  targets: string[];
  paths: string[];
}

/** One JSON form of a disk's role (docs/schemas/common.schema.json#diskRole): /health, `check --json`, MQTT. */
export function roleJson(role: DiskRoleInfo | undefined): DiskRoleJson {
  if (!role) return { role: 'unknown', reason: 'not mapped yet', targets: [], paths: [] };
  return { role: role.role, reason: role.reason, targets: [...role.targets], paths: [...role.paths] };
}
