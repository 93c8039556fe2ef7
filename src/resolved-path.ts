import { realpathSync } from 'node:fs';

/**
 * A path as this host sees it: through symlinks (`/dev/disk/by-id/…` → `/dev/sdb`, a `pg_wal`
 * linked to another disk), or as given when it cannot be resolved here (a replayed device name,
 * a directory the agent's unit hides such as /home).
 */
export function resolvedPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
