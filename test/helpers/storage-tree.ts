import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Writes a block-device tree in the kernel's sysfs format (Documentation/ABI/testing/sysfs-block,
 * Documentation/admin-guide/md.rst) and the matching /proc/self/mountinfo and /proc/swaps, the way
 * scripts/record-storage-tree.sh records a live host (holders/ and slaves/ entries as plain files).
 * For tests that change a layout while the agent runs: an md member failing, for one.
 */
export interface TreeDisk {
  name: string;
  dev: string;
  partitions?: Array<{ name: string; dev: string; holders?: string[] }>;
  holders?: string[];
}

export interface TreeArray {
  name: string;
  dev: string;
  level: string;
  members: Array<{ name: string; state: string }>;
  holders?: string[];
}

export interface TreeLayout {
  disks: TreeDisk[];
  arrays?: TreeArray[];
  /** Mounted file systems: the device's MAJ:MIN, where, what, and the source. */
  mounts: Array<{ dev: string; at: string; fsType?: string; source: string }>;
}

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${content}\n`);
}

async function entries(dir: string, names: readonly string[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of names) await writeFile(join(dir, name), '');
}

/** Writes `<root>/sys` and `<root>/proc`; returns their paths for --path.sysfs and --path.procfs. */
export async function writeStorageTree(root: string, layout: TreeLayout): Promise<{ sysfs: string; procfs: string }> {
  const sysfs = join(root, 'sys');
  const procfs = join(root, 'proc');
  for (const disk of layout.disks) {
    const dir = join(sysfs, 'block', disk.name);
    await put(join(dir, 'dev'), disk.dev);
    await entries(join(dir, 'holders'), disk.holders);
    await entries(join(dir, 'slaves'));
    for (const [i, part] of (disk.partitions ?? []).entries()) {
      await put(join(dir, part.name, 'partition'), String(i + 1));
      await put(join(dir, part.name, 'dev'), part.dev);
      await entries(join(dir, part.name, 'holders'), part.holders);
    }
  }
  for (const array of layout.arrays ?? []) {
    const dir = join(sysfs, 'block', array.name);
    const working = array.members.filter((m) => m.state.split(',').includes('in_sync')).length;
    await put(join(dir, 'dev'), array.dev);
    await entries(join(dir, 'holders'), array.holders);
    await entries(join(dir, 'slaves'), array.members.map((m) => m.name));
    await put(join(dir, 'md', 'level'), array.level);
    await put(join(dir, 'md', 'raid_disks'), String(array.members.length));
    await put(join(dir, 'md', 'degraded'), String(array.members.length - working));
    await put(join(dir, 'md', 'array_state'), working === array.members.length ? 'clean' : 'active');
    for (const m of array.members) await put(join(dir, 'md', `dev-${m.name}`, 'state'), m.state);
  }
  const mountinfo = [
    '22 1 0:21 / /proc rw,relatime - proc proc rw',
    '23 1 0:22 / /sys rw,relatime - sysfs sysfs rw',
    ...layout.mounts.map((m, i) => `${30 + i} 1 ${m.dev} / ${m.at} rw,relatime - ${m.fsType ?? 'ext4'} ${m.source} rw`),
  ];
  await put(join(procfs, 'self', 'mountinfo'), mountinfo.join('\n'));
  await put(join(procfs, 'swaps'), 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority');
  return { sysfs, procfs };
}
