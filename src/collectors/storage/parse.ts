/**
 * Pure parsers for the files the storage collector reads.
 * Formats: Documentation/filesystems/proc.rst (mountinfo, swaps),
 * Documentation/ABI/testing/sysfs-block-dm, Documentation/admin-guide/md.rst.
 */
import type { BlockDeviceKind, Mount } from './reading.js';

export class StorageParseError extends Error {
  override name = 'StorageParseError';
}

/**
 * The kernel escapes space, tab, newline and backslash in paths as three octal digits
 * (`\040`, `\011`, `\012`, `\134`; fs/proc_namespace.c, seq_path with " \t\n\\").
 */
export function decodeOctalEscapes(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * `/proc/self/mountinfo`: `id parent MAJ:MIN root mount-point options [optional…] - fstype source super-options`.
 * The optional fields (`shared:1`, `master:2`) vary in number, so the separator `-` is searched for.
 */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 3 || !/^\d+:\d+$/.test(fields[2] ?? '')) {
      throw new StorageParseError(`mountinfo: unexpected line "${line}"`);
    }
    mounts.push({
      dev: fields[2]!,
      mountPoint: decodeOctalEscapes(fields[4]!),
      fsType: fields[separator + 1]!,
      source: decodeOctalEscapes(fields[separator + 2]!),
    });
  }
  return mounts;
}

/** `/proc/swaps`: a header line, then one swap area per line, its path first. */
export function parseSwaps(text: string): string[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length > 0 && !lines[0]!.startsWith('Filename')) {
    throw new StorageParseError(`swaps: unexpected header "${lines[0]}"`);
  }
  return lines.slice(1).map((line) => decodeOctalEscapes(line.split(/\s+/)[0]!));
}

/**
 * The kind of a whole device in `/sys/block` by its kernel name: device-mapper is always `dm-N`,
 * md is `mdN` (or `md_dN` for old partitionable arrays), loop is `loopN`; everything else
 * (sd, nvme namespaces, vd, xvd, mmcblk, zram) is a disk.
 */
export function blockKind(name: string): Exclude<BlockDeviceKind, 'partition'> {
  if (/^dm-\d+$/.test(name)) return 'dm';
  if (/^md(_d)?\d+$/.test(name)) return 'md';
  if (/^loop\d+$/.test(name)) return 'loop';
  return 'disk';
}

/**
 * `dm/uuid` says which target made the mapping: cryptsetup prefixes `CRYPT-` (`CRYPT-LUKS2-…`),
 * LVM prefixes `LVM-` followed by the VG and LV uuids. Multipath (`mpath-`) and others are `other`.
 */
export function dmKind(uuid: string | undefined): 'crypt' | 'lvm' | 'other' {
  if (uuid?.startsWith('CRYPT-')) return 'crypt';
  if (uuid?.startsWith('LVM-')) return 'lvm';
  return 'other';
}

/** `md/dev-sda1/state`: comma-separated flags, `in_sync` or `faulty` or `spare`, with `write_mostly`… */
export function parseMemberState(text: string): string[] {
  return text
    .trim()
    .split(',')
    .map((flag) => flag.trim())
    .filter((flag) => flag !== '');
}

/** A sysfs number file; undefined when it is missing or not a number (`none`). */
export function parseCount(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
