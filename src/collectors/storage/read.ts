import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { blockKind, dmKind, parseCount, parseMemberState } from './parse.js';
import type { BlockDevice, MdArray, MdMember } from './reading.js';

/** Thrown when the tree itself cannot be read: nothing can be said about any disk then. */
export class StorageUnreadableError extends Error {
  override name = 'StorageUnreadableError';
}

const code = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);

/** A sysfs attribute, trimmed; undefined when missing (an older kernel, a device going away). */
async function readAttribute(path: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return (await readFile(path, { encoding: 'utf8', signal })).trim();
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    return undefined;
  }
}

/**
 * The names in `holders/` or `slaves/`. The kernel makes them symlinks; a recorded fixture has
 * plain files or directories of the same names. Only the names matter.
 */
async function entryNames(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch {
    return [];
  }
}

/**
 * Attributes one after the other. sysfs answers from memory, so reading in parallel gains nothing,
 * and dozens of reads at once keep every libuv pool thread busy, each growing its own malloc arena:
 * about 3 MB of resident memory for the agent's life, measured with scripts/bench-agent.mjs.
 */
async function inTurn(paths: readonly string[], signal: AbortSignal): Promise<Array<string | undefined>> {
  const values: Array<string | undefined> = [];
  for (const path of paths) values.push(await readAttribute(path, signal));
  return values;
}

async function readMdMember(mdDir: string, entry: string, signal: AbortSignal): Promise<MdMember> {
  let name = entry.slice('dev-'.length);
  try {
    // The directory is named after the member when it was added; `block` points at the device.
    const target = basename(await readlink(join(mdDir, entry, 'block')));
    if (target !== '' && target !== name) name = target;
  } catch {
    // a recorded tree has no `block` link: the directory's name is the member
  }
  const state = await readAttribute(join(mdDir, entry, 'state'), signal);
  return { name, state: state === undefined ? [] : parseMemberState(state) };
}

/** `<sysfs>/block/mdX/md/` (Documentation/admin-guide/md.rst); undefined when it is missing. */
async function readMd(dir: string, signal: AbortSignal): Promise<MdArray | undefined> {
  const mdDir = join(dir, 'md');
  let entries: string[];
  try {
    entries = await readdir(mdDir);
  } catch {
    return undefined;
  }
  const members: MdMember[] = [];
  for (const entry of entries.filter((e) => e.startsWith('dev-')).sort()) members.push(await readMdMember(mdDir, entry, signal));
  const [level, raidDisks, degraded, arrayState, syncAction] = await inTurn(['level', 'raid_disks', 'degraded', 'array_state', 'sync_action'].map((file) => join(mdDir, file)), signal);
  const disks = parseCount(raidDisks) ?? members.length;
  const working = members.filter((m) => m.state.includes('in_sync') && !m.state.includes('faulty')).length;
  return {
    level: level ?? '',
    raidDisks: disks,
    // raid0 and linear have no `degraded` file: count what is missing from the members instead.
    degraded: parseCount(degraded) ?? Math.max(0, disks - working),
    arrayState: arrayState ?? '',
    ...(syncAction !== undefined && syncAction !== 'none' ? { syncAction } : {}),
    members,
  };
}

/** A whole device's partitions: its sub-directories that have a `partition` file. */
async function readPartitions(disk: string, dir: string, signal: AbortSignal): Promise<BlockDevice[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const partitions: BlockDevice[] = [];
  // The kernel names a partition after its disk (sda1, nvme0n1p1, mmcblk0p1, md0p1): only those
  // directories are looked into, not queue/, power/, mq/… whose failed reads are pure garbage.
  for (const entry of entries.filter((e) => e.isDirectory() && e.name.startsWith(disk)).sort((a, b) => a.name.localeCompare(b.name))) {
    const partDir = join(dir, entry.name);
    if ((await readAttribute(join(partDir, 'partition'), signal)) === undefined) continue;
    partitions.push({
      name: entry.name,
      dev: (await readAttribute(join(partDir, 'dev'), signal)) ?? '',
      kind: 'partition',
      parents: [disk],
      holders: await entryNames(join(partDir, 'holders')),
    });
  }
  return partitions;
}

async function readDevice(sysfs: string, name: string, signal: AbortSignal): Promise<BlockDevice[]> {
  signal.throwIfAborted();
  const dir = join(sysfs, 'block', name);
  const kind = blockKind(name);
  const device: BlockDevice = {
    name,
    dev: (await readAttribute(join(dir, 'dev'), signal)) ?? '',
    kind,
    parents: kind === 'md' || kind === 'dm' ? await entryNames(join(dir, 'slaves')) : [],
    holders: await entryNames(join(dir, 'holders')),
  };
  if (kind === 'dm') {
    const [dmName, uuid] = await inTurn([join(dir, 'dm/name'), join(dir, 'dm/uuid')], signal);
    device.dm = { name: dmName ?? '', kind: dmKind(uuid) };
  }
  if (kind === 'md') {
    const md = await readMd(dir, signal);
    if (md) device.md = md;
  }
  return [device, ...(await readPartitions(name, dir, signal))];
}

/**
 * Every device in `<sysfs>/block` and its partitions. Throws StorageUnreadableError when the
 * directory itself cannot be read (a container without /sys, a sandbox denying it); a missing
 * file inside leaves its field out.
 */
export async function readBlockDevices(sysfs: string, signal: AbortSignal): Promise<BlockDevice[]> {
  const root = join(sysfs, 'block');
  let names: string[];
  try {
    names = (await readdir(root)).sort();
  } catch (err) {
    throw new StorageUnreadableError(`cannot read ${root} (${code(err)}): the disks' roles are unknown`, { cause: err });
  }
  const devices: BlockDevice[] = [];
  for (const name of names) devices.push(...(await readDevice(sysfs, name, signal)));
  return devices;
}

/** A procfs file that must be there; its absence means the roles cannot be known either. */
export async function readRequired(path: string, signal: AbortSignal): Promise<string> {
  try {
    return await readFile(path, { encoding: 'utf8', signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new StorageUnreadableError(`cannot read ${path} (${code(err)}): the disks' roles are unknown`, { cause: err });
  }
}

/** `/proc/swaps` is missing on kernels built without swap (CONFIG_SWAP=n): no swap, then. */
export async function readOptional(path: string, signal: AbortSignal): Promise<string | undefined> {
  return readAttribute(path, signal);
}
