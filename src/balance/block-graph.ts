/**
 * The block device tree as a graph, and what losing one disk costs in it. Pure: fed the storage
 * collector's reading. Used by disk-roles.ts.
 */
import { basename } from 'node:path';
import type { BlockDevice, MdArray, Mount, StorageReading } from '../collectors/storage/index.js';

export interface BlockGraph {
  reading: StorageReading;
  byName: ReadonlyMap<string, BlockDevice>;
  /** Devices built directly on each device: its partitions, and its holders (md, dm). */
  children: ReadonlyMap<string, readonly string[]>;
}

export function blockGraph(reading: StorageReading): BlockGraph {
  const byName = new Map(reading.devices.map((d) => [d.name, d]));
  const children = new Map<string, Set<string>>();
  const link = (below: string, above: string) => {
    if (!children.has(below)) children.set(below, new Set());
    children.get(below)!.add(above);
  };
  for (const device of reading.devices) {
    for (const parent of device.parents) link(parent, device.name);
    for (const holder of device.holders) link(device.name, holder);
  }
  return { reading, byName, children: new Map([...children].map(([k, v]) => [k, [...v]])) };
}

/**
 * The block devices a SMART device path stands for. An NVMe controller (`/dev/nvme0`) is not a
 * block device: its namespaces (`nvme0n1`, `nvme0n2`) are, and all of them fail with it.
 * Returns why not when the path has no device in the tree.
 */
export function smartDeviceNames(graph: BlockGraph, devicePath: string): string[] | { why: string } {
  const name = basename(devicePath);
  if (/^nvme\d+$/.test(name)) {
    const namespaces = [...graph.byName.keys()].filter((n) => new RegExp(`^${name}n\\d+$`).test(n)).sort();
    return namespaces.length > 0 ? namespaces : { why: `${name} has no namespaces in /sys/block` };
  }
  return graph.byName.has(name) ? [name] : { why: `${name} is not in /sys/block` };
}

/** The mount whose mount point is the longest prefix of `path` on a `/` boundary; the topmost of stacked ones. */
export function mountFor(mounts: readonly Mount[], path: string): Mount | undefined {
  const normal = path.length > 1 ? path.replace(/\/+$/, '') : path;
  let best: Mount | undefined;
  for (const mount of mounts) {
    const point = mount.mountPoint;
    const under = point === '/' ? normal.startsWith('/') : normal === point || normal.startsWith(`${point}/`);
    // `>=`: a later mount on the same point is mounted over the earlier one.
    if (under && (!best || point.length >= best.mountPoint.length)) best = mount;
  }
  return best;
}

/** A `/dev/…` path's device: `/dev/sdb1`, `/dev/dm-2`, or a device-mapper name under `/dev/mapper/`. */
export function deviceByPath(graph: BlockGraph, path: string): BlockDevice | undefined {
  if (!path.startsWith('/dev/')) return undefined;
  if (path.startsWith('/dev/mapper/')) {
    const dmName = path.slice('/dev/mapper/'.length);
    return graph.reading.devices.find((d) => d.dm?.name === dmName);
  }
  return graph.byName.get(basename(path));
}

/**
 * A mount's block device: by MAJ:MIN, else by its source, since btrfs (and others) report an
 * anonymous 0:NN device number. tmpfs, overlay and network file systems have none.
 */
export function mountDevice(graph: BlockGraph, mount: Mount): BlockDevice | undefined {
  return graph.reading.devices.find((d) => d.dev !== '' && d.dev === mount.dev) ?? deviceByPath(graph, mount.source);
}

/** The block device a path lives on, or why it cannot be tied to one. */
export function pathDevice(graph: BlockGraph, path: string): BlockDevice | { why: string } {
  const mount = mountFor(graph.reading.mounts, path);
  if (!mount) return { why: `no mount holds ${path}` };
  return mountDevice(graph, mount) ?? { why: `${path} is on ${mount.fsType} (${mount.source}), not on a block device` };
}

/** The device and everything it is built on, down to the disks. */
export function below(graph: BlockGraph, name: string): Set<string> {
  const found = new Set<string>();
  const visit = (n: string) => {
    if (found.has(n)) return;
    found.add(n);
    for (const parent of graph.byName.get(n)?.parents ?? []) visit(parent);
  };
  visit(name);
  return found;
}

/** The devices and everything built on them: partitions, arrays, mappings. */
export function above(graph: BlockGraph, names: Iterable<string>): Set<string> {
  const found = new Set<string>();
  const visit = (n: string) => {
    if (found.has(n)) return;
    found.add(n);
    for (const child of graph.children.get(n) ?? []) visit(child);
  };
  for (const n of names) visit(n);
  return found;
}

/** Members that carry data: in sync and not faulty (a spare or a failed member does not). */
export const workingMembers = (md: MdArray) => md.members.filter((m) => m.state.includes('in_sync') && !m.state.includes('faulty'));

/** Working members an array needs to keep its data, by level; unknown levels need them all. */
export function membersNeeded(md: MdArray): number {
  switch (md.level) {
    case 'raid1':
      return 1;
    case 'raid4':
    case 'raid5':
      return md.raidDisks - 1;
    case 'raid6':
      return md.raidDisks - 2;
    default:
      return md.raidDisks;
  }
}

/** Whether an array survives losing these working members. */
export function survives(md: MdArray, lost: number): boolean {
  if (lost === 0) return true;
  const left = workingMembers(md).length - lost;
  // raid10: which mirror pairs are left is not visible in sysfs, so only a whole array can lose one.
  if (md.level === 'raid10') return md.degraded === 0 && left >= md.raidDisks - 1 && lost <= 1;
  return left >= membersNeeded(md);
}

/**
 * Whether `name`'s data is lost when the disk whose block devices are `roots` fails. A mapping
 * (LVM, crypt) is lost with any of its parents: an LV may span PVs, which sysfs does not detail.
 */
export function isCritical(graph: BlockGraph, name: string, roots: ReadonlySet<string>, seen = new Set<string>()): boolean {
  if (roots.has(name)) return true;
  const device = graph.byName.get(name);
  if (!device || seen.has(name)) return false;
  seen.add(name);
  if (device.kind === 'md' && device.md) {
    const md = device.md;
    const lost = workingMembers(md).filter((m) => isCritical(graph, m.name, roots, new Set(seen))).length;
    return !survives(md, lost);
  }
  return device.parents.some((parent) => isCritical(graph, parent, roots, new Set(seen)));
}

/** `dm-0 (vg0-pg)`, `md0`, `sda1`: how a device is named in a reason. */
export function describe(graph: BlockGraph, name: string): string {
  const dmName = graph.byName.get(name)?.dm?.name;
  return dmName ? `${name} (${dmName})` : name;
}

/** The devices from `name` down to the failing disk, through those that fail with it. */
export function criticalChain(graph: BlockGraph, name: string, roots: ReadonlySet<string>): string[] {
  if (roots.has(name)) return [name];
  const next = graph.byName.get(name)?.parents.find((p) => isCritical(graph, p, roots));
  return next ? [name, ...criticalChain(graph, next, roots)] : [name];
}
