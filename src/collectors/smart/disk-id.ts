/**
 * The stable `disk` label. Device names move between reboots and controllers; a disk's WWN and
 * its model + serial do not. Several disks behind one path (`/dev/bus/0` with `megaraid,0` and
 * `megaraid,1`) differ by WWN or serial, and by type in the last resort.
 *
 * The id is a label on every per-disk series and an MQTT topic segment, so it is at most
 * MAX_ID_LENGTH characters. One that would be longer (a model or serial of megabytes) is cut and
 * ends in `-` and 16 hex digits of the SHA-256 of the full model and serial (or path and type):
 * the same disk gets the same id every round, and two disks that differ only past the cut differ.
 */
import { createHash } from 'node:crypto';
import type { DiskIdentity } from './reading.js';

export const MAX_ID_LENGTH = 128;
const HASH_DIGITS = 16;

/** Runs of characters a label value or a file name would trip over become one `_`. */
export function sanitizeId(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_');
}

/** `id` itself when short enough, else its start and a hash of `full` (what the id was made from). */
function capped(id: string, full: string): string {
  if (id.length <= MAX_ID_LENGTH) return id;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_DIGITS);
  return `${id.slice(0, MAX_ID_LENGTH - HASH_DIGITS - 1)}-${hash}`;
}

/** `identity`, `device` and `type` as smartctl printed them, before any cut (parse.ts). */
export function diskId(identity: DiskIdentity, device: string | undefined, type: string | undefined): string {
  // The WWN is at most 32 hex digits (parse-identity.ts): never cut.
  if (identity.wwn !== undefined) return `wwn-${identity.wwn}`;
  if (identity.model !== undefined && identity.serial !== undefined) {
    return capped(sanitizeId(`${identity.model}_${identity.serial}`), `${identity.model}\u0000${identity.serial}`);
  }
  const path = device === undefined || device === '' ? 'unknown' : device;
  const id = type === undefined || type === '' ? path : `${path};${type}`;
  return capped(id, `${path}\u0000${type ?? ''}`);
}
