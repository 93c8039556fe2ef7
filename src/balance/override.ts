import { closeSync, constants, fstatSync, openSync, readSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir, writeFileDurably } from '../durable-file.js';

/**
 * An operator's override of the load-balancer decision: `drain` takes the host out whatever
 * harbinger decides; `hold` keeps it up at full weight (during maintenance, or over a known false
 * alarm). A database that does not answer still takes the host down under either
 * (override-decision.ts). Persisted in the state directory so that it survives a restart of the agent.
 */
export type OverrideMode = 'drain' | 'hold';
export const OVERRIDE_MODES: readonly OverrideMode[] = ['drain', 'hold'];

export interface Override {
  mode: OverrideMode;
  /** Why, in the operator's words: one line (it becomes the agent-check `#` description). */
  reason: string;
  /** Who set it: the user name (`root`, `harbinger`, `root (sudo: alice)`). */
  by: string;
  setAtMs: number;
  /** When it ends by itself; absent: until `harbinger balance resume`. */
  untilMs?: number;
}

/** The one JSON form of an override wherever it is shown (/health `balance.override`, `balance status --json`). */
export interface OverrideJson {
  mode: OverrideMode;
  reason: string;
  by: string;
  since: string;
  until: string | null;
}

export const OVERRIDE_FILE = 'balance-override.json';
export const OVERRIDE_FILE_VERSION = 1;
export const MAX_REASON_LENGTH = 500;
const MAX_BY_LENGTH = 200;
/** Far larger than any valid file: a bigger one is not ours, and is not read into memory. */
const MAX_FILE_BYTES = 64 * 1024;

/** The override itself while it lasts; undefined once `untilMs` has passed. */
export function activeOverride(override: Override | undefined, nowMs: number): Override | undefined {
  if (!override) return undefined;
  return override.untilMs !== undefined && nowMs >= override.untilMs ? undefined : override;
}

export function overrideJson(override: Override | undefined): OverrideJson | null {
  if (!override) return null;
  return {
    mode: override.mode,
    reason: override.reason,
    by: override.by,
    since: new Date(override.setAtMs).toISOString(),
    until: override.untilMs === undefined ? null : new Date(override.untilMs).toISOString(),
  };
}

/**
 * What is wrong with a reason, or undefined. Control characters are refused rather than stripped:
 * HAProxy's agent-check description is the rest of one line, and a silently edited reason would
 * not be what the operator typed. `#` is fine: only the first `#` of the line starts it.
 */
export function reasonProblem(reason: string): string | undefined {
  if (reason.trim() === '') return 'the reason is empty: say why, e.g. --reason "replacing disk sdb"';
  if (reason.length > MAX_REASON_LENGTH) return `the reason is ${reason.length} characters long: keep it to ${MAX_REASON_LENGTH}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(reason)) return 'the reason contains a control character (a newline, a tab…): give it as one line of text';
  return undefined;
}

/** The file's form: ISO dates, so that an operator can read and fix it with an editor. */
function toFile(override: Override): string {
  return `${JSON.stringify({ version: OVERRIDE_FILE_VERSION, ...overrideJson(override) }, null, 2)}\n`;
}

function isoMs(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The override in a file's parsed JSON, or what is wrong with it (a phrase: "its mode is …"). */
export function parseOverride(value: unknown): Override | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const v = value as Record<string, unknown>;
  if (v.version !== OVERRIDE_FILE_VERSION) return `its version is ${JSON.stringify(v.version)}, not ${OVERRIDE_FILE_VERSION} (written by another harbinger version?)`;
  if (!OVERRIDE_MODES.includes(v.mode as OverrideMode)) return `its mode is ${JSON.stringify(v.mode)}, not "drain" or "hold"`;
  if (typeof v.reason !== 'string') return 'it has no reason';
  const bad = reasonProblem(v.reason);
  if (bad) return bad;
  if (typeof v.by !== 'string' || v.by === '' || v.by.length > MAX_BY_LENGTH || reasonProblem(v.by)) return 'its "by" is not a user name';
  const setAtMs = isoMs(v.since);
  if (setAtMs === undefined) return `its "since" is ${JSON.stringify(v.since)}, not an ISO date like 2025-01-31T12:00:00Z`;
  const untilMs = v.until === null || v.until === undefined ? undefined : isoMs(v.until);
  if (untilMs === undefined && v.until !== null && v.until !== undefined) return `its "until" is ${JSON.stringify(v.until)}, not an ISO date or null`;
  const override: Override = { mode: v.mode as OverrideMode, reason: v.reason, by: v.by, setAtMs };
  if (untilMs !== undefined) override.untilMs = untilMs;
  return override;
}

/** A write that failed, said as what to do about it. */
export class OverrideWriteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The override's file, `<state_dir>/balance-override.json`. The agent reads it (through
 * OverrideWatcher); `harbinger balance` writes it. Only a file owned by root or by the state
 * directory's owner (the agent's user) is believed: anyone else could otherwise take the host out
 * of the pool by dropping a file there.
 */
export class OverrideStore {
  readonly path: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, OVERRIDE_FILE);
  }

  /** Missing file: {}. Anything wrong with it: { problem } (one sentence with what to do). Never throws. */
  read(): { override?: Override; problem?: string } {
    const problem = (what: string) => ({ problem: `${this.path}: ${what}; fix it or remove it with "harbinger balance resume"` });
    let fd: number;
    try {
      // O_NOFOLLOW: a symlink could point the agent at any file on the host.
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return {};
      if (code === 'ELOOP') return problem('it is a symbolic link, which is not followed');
      return problem(`cannot be read (${code ?? String(err)})`);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return problem('it is not a regular file');
      const dirOwner = this.stateDirOwner();
      if (stat.uid !== 0 && stat.uid !== dirOwner) {
        return problem(`it is owned by uid ${stat.uid}, not by root or the state directory's owner (uid ${dirOwner ?? '?'}), so it is ignored`);
      }
      if ((stat.mode & 0o002) !== 0) return problem('anyone may write to it (mode o+w), so it is ignored');
      if (stat.size > MAX_FILE_BYTES) return problem(`it is ${stat.size} bytes, too large to be an override`);
      const buffer = Buffer.alloc(Math.min(stat.size + 1, MAX_FILE_BYTES + 1));
      let length = 0;
      for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, length);
      let value: unknown;
      try {
        value = JSON.parse(buffer.subarray(0, length).toString('utf8'));
      } catch {
        return problem('it is not valid JSON (damaged or cut short)');
      }
      const parsed = parseOverride(value);
      return typeof parsed === 'string' ? problem(parsed) : { override: parsed };
    } catch (err) {
      return problem(`cannot be read (${errnoCode(err) ?? String(err)})`);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Replaces the override atomically: a temporary file, fsynced, renamed over the old one, then the
   * directory fsynced; a reader sees the old file or the new one, never half of one. Run as root,
   * the file is given to the state directory's owner, so the agent's user can still replace it.
   */
  write(override: Override): void {
    const problem = parseOverride(JSON.parse(toFile(override)));
    if (typeof problem === 'string') throw new OverrideWriteError(`the override is not valid: ${problem}`, undefined);
    try {
      const dir = statSync(this.stateDir);
      const owner = process.geteuid?.() === 0 && (dir.uid !== 0 || dir.gid !== 0) ? { uid: dir.uid, gid: dir.gid } : undefined;
      writeFileDurably(this.path, toFile(override), { mode: 0o644, ...(owner ? { owner } : {}) });
    } catch (err) {
      throw this.writeError('write', err);
    }
  }

  /** Removes the override; false when there was none. */
  clear(): boolean {
    try {
      unlinkSync(this.path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw this.writeError('remove', err);
    }
    syncDir(this.stateDir);
    return true;
  }

  /**
   * Changes whenever the file does (a rename gives a new inode; an edit changes size or mtime; a
   * chown or chmod changes ctime), for a watcher that polls: one stat, no read. Undefined when absent.
   */
  signature(): string | undefined {
    try {
      // Polled twice a second, mostly with no file: no exception (and no stack trace) for that case.
      const s = statSync(this.path, { bigint: true, throwIfNoEntry: false });
      if (!s) return undefined;
      return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    } catch (err) {
      const code = errnoCode(err);
      // Unreadable is a state of its own: read() says what is wrong with it.
      return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : `error:${code ?? 'unknown'}`;
    }
  }

  /** The uid that owns the state directory (the agent's user); undefined when it is not a directory. */
  stateDirOwner(): number | undefined {
    try {
      const stat = statSync(this.stateDir);
      return stat.isDirectory() ? stat.uid : undefined;
    } catch {
      return undefined;
    }
  }

  private writeError(action: 'write' | 'remove', err: unknown): OverrideWriteError {
    const code = errnoCode(err);
    const what = `cannot ${action} ${this.path}`;
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        return new OverrideWriteError(`${what}: permission denied; run it as root or as the owner of ${this.stateDir}`, code);
      case 'ENOSPC':
      case 'EDQUOT':
        return new OverrideWriteError(`${what}: the file system is full; free some space and run it again`, code);
      case 'EROFS':
        return new OverrideWriteError(`${what}: the file system is read-only; remount it read-write and run it again`, code);
      case 'ENOENT':
      case 'ENOTDIR':
        return new OverrideWriteError(`${what}: ${this.stateDir} does not exist; start the agent once (it creates it) or check state_dir`, code);
      default:
        return new OverrideWriteError(`${what}: ${err instanceof Error ? err.message : String(err)}`, code);
    }
  }
}
