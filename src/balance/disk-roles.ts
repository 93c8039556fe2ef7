/**
 * What each SMART disk carries, so that only a disk holding a database's data can drain the host.
 * Pure: the storage reading, the SMART disks and the databases' data paths come in, resolved by
 * the caller (realpath, /dev/disk/by-id links).
 */
import type { StorageReading } from '../collectors/storage/index.js';
import {
  above,
  below,
  blockGraph,
  criticalChain,
  describe,
  deviceByPath,
  isCritical,
  membersNeeded,
  mountDevice,
  pathDevice,
  smartDeviceNames,
  workingMembers,
  type BlockGraph,
} from './block-graph.js';

export const DISK_ROLES = ['data', 'redundant', 'system', 'unused', 'unknown'] as const;
export type DiskRole = (typeof DISK_ROLES)[number];

/** Where one database keeps its data: absolute paths with symlinks already resolved. */
export interface DataLocation {
  target: string;
  paths: string[];
}

export interface RoleInput {
  /** undefined: the tree could not be read. */
  storage: StorageReading | undefined;
  /** Why not (the collector's error), for the reason text. */
  storageProblem?: string;
  /** SMART disks: stable id, and the device path resolved to `/dev/<kernel name>` where possible. */
  disks: ReadonlyArray<{ disk: string; device: string }>;
  locations: readonly DataLocation[];
  /** Targets whose data paths are not known, and why. */
  unknownLocations: ReadonlyArray<{ target: string; why: string }>;
}

export interface DiskRoleInfo {
  role: DiskRole;
  targets: string[];
  paths: string[];
  reason: string;
}

interface Located {
  target: string;
  path: string;
  device: string;
}

const unique = (items: string[]) => [...new Set(items)];

/** What each device carries itself, in mountinfo and swaps order: mount points and swap areas. */
function carriedByDevice(graph: BlockGraph): Array<{ name: string; what: string }> {
  const carried: Array<{ name: string; what: string }> = [];
  for (const mount of graph.reading.mounts) {
    const device = mountDevice(graph, mount);
    if (device) carried.push({ name: device.name, what: mount.mountPoint });
  }
  for (const swap of graph.reading.swaps) {
    // A swap file lives on the file system that holds it.
    const device = swap.startsWith('/dev/') ? deviceByPath(graph, swap) : pathDevice(graph, swap);
    if (device && 'name' in device) carried.push({ name: device.name, what: `swap ${swap}` });
  }
  return carried;
}

function dataReason(graph: BlockGraph, location: Located, roots: ReadonlySet<string>): string {
  const chain = criticalChain(graph, location.device, roots);
  const notes = chain.flatMap((name) => {
    const md = graph.byName.get(name)?.md;
    if (!md || membersNeeded(md) >= md.raidDisks) return [];
    return [`; ${name} has no redundancy left: ${workingMembers(md).length} of ${md.raidDisks} members in sync`];
  });
  return `holds ${location.path} of ${location.target} (${chain.map((n) => describe(graph, n)).join(' on ')})${notes.join('')}`;
}

/** Names the array that absorbs the disk's loss. */
function redundantReason(graph: BlockGraph, location: Located, roots: ReadonlySet<string>): string {
  for (const name of below(graph, location.device)) {
    const md = graph.byName.get(name)?.md;
    const member = md?.members.find((m) => isCritical(graph, m.name, roots));
    if (!md || !member) continue;
    const idle = member.state.filter((s) => s === 'faulty' || s === 'spare');
    const inSync = `${workingMembers(md).length} of ${md.raidDisks} members in sync`;
    return `a member of ${name} (${md.level}), which keeps its data without it (${idle.length ? `${member.name} is ${idle.join(', ')}; ` : ''}${inSync})`;
  }
  return `below ${describe(graph, location.device)}, which keeps ${location.path} of ${location.target} without it`;
}

function roleOf(
  graph: BlockGraph,
  device: string,
  located: readonly Located[],
  unknown: ReadonlyArray<{ target: string; why: string }>,
  carried: ReadonlyArray<{ name: string; what: string }>,
): DiskRoleInfo {
  const names = smartDeviceNames(graph, device);
  if (!Array.isArray(names)) return { role: 'unknown', targets: [], paths: [], reason: names.why };
  const roots = new Set(names);
  const holding = located.filter((l) => isCritical(graph, l.device, roots));
  if (holding.length > 0) {
    return {
      role: 'data',
      targets: unique(holding.map((l) => l.target)),
      paths: unique(holding.map((l) => l.path)),
      reason: holding.map((l) => dataReason(graph, l, roots)).join('; '),
    };
  }
  const beneath = located.filter((l) => [...below(graph, l.device)].some((n) => roots.has(n)));
  if (beneath.length > 0) {
    return {
      role: 'redundant',
      targets: unique(beneath.map((l) => l.target)),
      paths: unique(beneath.map((l) => l.path)),
      reason: unique(beneath.map((l) => redundantReason(graph, l, roots))).join('; '),
    };
  }
  const upward = [...above(graph, roots)];
  const carries = unique(carried.filter((c) => upward.includes(c.name)).map((c) => c.what));
  const holders = upward.some((n) => (graph.byName.get(n)?.holders.length ?? 0) > 0 || graph.byName.get(n)?.kind === 'md' || graph.byName.get(n)?.kind === 'dm');
  // A disk with nothing on it cannot hold anyone's data, known or not.
  if (unknown.length > 0 && (carries.length > 0 || holders)) {
    return {
      role: 'unknown',
      targets: unique(unknown.map((u) => u.target)),
      paths: [],
      reason: unknown.map((u) => (u.target ? `where ${u.target} keeps its data is not known: ${u.why}` : u.why)).join('; '),
    };
  }
  if (carries.length > 0) return { role: 'system', targets: [], paths: [], reason: `carries ${carries.join(', ')} (no database data)` };
  return { role: 'unused', targets: [], paths: [], reason: 'no mounted file system, swap or database data' };
}

/** Every SMART disk's role, keyed by its stable id. */
export function diskRoles(input: RoleInput): Map<string, DiskRoleInfo> {
  const roles = new Map<string, DiskRoleInfo>();
  if (!input.storage) {
    const reason = input.storageProblem ?? 'the block devices have not been read yet';
    const targets = unique([...input.locations, ...input.unknownLocations].map((l) => l.target));
    for (const { disk } of input.disks) roles.set(disk, { role: 'unknown', targets, paths: [], reason });
    return roles;
  }
  const graph = blockGraph(input.storage);
  const located: Located[] = [];
  const unknown = [...input.unknownLocations];
  for (const location of input.locations) {
    for (const path of location.paths) {
      const device = pathDevice(graph, path);
      // tmpfs, overlay, NFS: nothing here says which disk, if any, holds it.
      if ('why' in device) unknown.push({ target: location.target, why: device.why });
      else located.push({ target: location.target, path, device: device.name });
    }
  }
  const carried = carriedByDevice(graph);
  for (const { disk, device } of input.disks) roles.set(disk, roleOf(graph, device, located, unknown, carried));
  return roles;
}
