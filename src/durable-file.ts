import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces a file atomically and durably: a temporary file beside it, fsynced, renamed over the
 * old one, then the directory fsynced. A reader sees the old file or the new one, never half of
 * one, and a crash after this returns cannot lose it. `owner`: give the file to this uid/gid
 * (root writing into a directory the agent's user owns). Throws the system's error.
 */
export function writeFileDurably(path: string, data: string, options: { mode: number; owner?: { uid: number; gid: number } }): void {
  const temp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    // Left over by a crashed run that had this pid: O_EXCL below would refuse it.
    if (statSync(temp, { throwIfNoEntry: false })) unlinkSync(temp);
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode);
    const bytes = Buffer.from(data);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    // The umask may have taken bits off the mode given to open.
    fchmodSync(fd, options.mode);
    if (options.owner) fchownSync(fd, options.owner.uid, options.owner.gid);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    syncDir(dirname(path));
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // Not created, or already renamed: nothing to clean.
    }
    throw err;
  }
}

/** The rename is durable only once the directory is on disk too; a failure here loses nothing but that. */
export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the file itself is already synced.
  }
}
