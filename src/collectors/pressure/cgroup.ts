import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The cgroup v2 hierarchy's root: `/sys/fs/cgroup` on unified systems, `/sys/fs/cgroup/unified`
 * on hybrid ones (systemd's default before v247 on many distributions). Pressure files live only
 * in the v2 hierarchy. Resolved under `--path.sysfs` so a fixture tree works the same.
 */
export async function findCgroup2Root(sysfs: string): Promise<string | undefined> {
  for (const candidate of [join(sysfs, 'fs/cgroup'), join(sysfs, 'fs/cgroup/unified')]) {
    try {
      await access(join(candidate, 'cgroup.controllers'));
      return candidate;
    } catch {
      // not a v2 hierarchy here; try the next place
    }
  }
  return undefined;
}

/**
 * Finds the cgroup directory of a systemd unit (`postgresql@15-main.service`). Units sit under a
 * slice that depends on how they were started (template instances get `system-<name>.slice`), so
 * search breadth-first a few levels deep rather than guess the slice.
 */
export async function findUnitCgroup(root: string, unit: string, maxDepth = 4): Promise<string | undefined> {
  let level = [root];
  for (let depth = 0; depth < maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        if (entry.name === unit) return join(dir, entry.name);
        // Only slices hold units; skipping the rest keeps the search small on busy hosts.
        if (entry.name.endsWith('.slice')) next.push(join(dir, entry.name));
      }
    }
    level = next;
  }
  return undefined;
}
