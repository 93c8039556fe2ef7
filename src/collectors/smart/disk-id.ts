/**
 * The stable `disk` label. Device names move between reboots and controllers; a disk's WWN and
 * its model + serial do not. Several disks behind one path (`/dev/bus/0` with `megaraid,0` and
 * `megaraid,1`) differ by WWN or serial, and by type in the last resort.
 */
import type { DiskIdentity } from './reading.js';

/** Runs of characters a label value or a file name would trip over become one `_`. */
export function sanitizeId(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export function diskId(identity: DiskIdentity, device: string | undefined, type: string | undefined): string {
  if (identity.wwn !== undefined) return `wwn-${identity.wwn}`;
  if (identity.model !== undefined && identity.serial !== undefined) return sanitizeId(`${identity.model}_${identity.serial}`);
  const path = device === undefined || device === '' ? 'unknown' : device;
  return type === undefined || type === '' ? path : `${path};${type}`;
}
