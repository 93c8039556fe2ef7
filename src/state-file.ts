import { existsSync, renameSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { Counter, type Registry } from 'prom-client';

/** What a damaged state file was, where its copy went, and what the error or the check said. */
export interface DamagedStateFile {
  file: string;
  /** Undefined when the file could not even be moved aside. */
  damagedCopy: string | undefined;
  found: string;
  /** Damage found while running, and no fresh file could be made: carrying on in memory. */
  inMemory?: boolean;
}

export type OnDamaged = (damaged: DamagedStateFile) => void;

/** SQLite's word for a damaged file: a malformed page (SQLITE_CORRUPT*) or no database at all (SQLITE_NOTADB). */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/** The error a failed check throws: a damage like SQLite's own. */
export class StateFileDamage extends Error {
  readonly code = 'SQLITE_CORRUPT';
}

/**
 * Checks a freshly opened database: `PRAGMA quick_check` (every page and index structure), then a
 * full read of each table the module needs, so that damage shows now, inside the open, and not at
 * some later query.
 */
export function checkDatabase(db: Database.Database, tables: readonly string[]): void {
  const problems = (db.pragma('quick_check') as Array<Record<string, string>>).map((row) => Object.values(row)[0]).filter((v) => v !== 'ok');
  if (problems.length > 0) throw new StateFileDamage(`quick_check: ${problems.slice(0, 5).join('; ')}`);
  for (const table of tables) for (const _row of db.prepare(`SELECT * FROM ${table}`).iterate());
}

/**
 * Moves a damaged SQLite file aside with its -wal and -shm files, to `<file>.damaged-<ISO time>`
 * (and `-wal`, `-shm`), and returns where the database went.
 */
export function moveAside(file: string, nowMs: number): string {
  const copy = `${file}.damaged-${new Date(nowMs).toISOString()}`;
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, copy + suffix);
  return copy;
}

/**
 * Opens a state file with `open` (which checks it); a damaged one is moved aside, reported, and
 * opened again fresh. Any other error (permissions, a full disk) is the caller's.
 */
export function openStateFile<T>(file: string, open: (file: string) => T, onDamaged: OnDamaged, now: () => number = Date.now): T {
  try {
    return open(file);
  } catch (err) {
    if (!isDamage(err)) throw err;
    const damagedCopy = moveAside(file, now());
    onDamaged({ file, damagedCopy, found: err instanceof Error ? err.message : String(err) });
    return open(file);
  }
}

/** `harbinger_state_files_damaged_total{file}`, at 0 for each state file from the start; returns its counter. */
export function registerDamagedFilesMetric(registry: Registry): (file: string) => void {
  const counter = new Counter({
    name: 'harbinger_state_files_damaged_total',
    help: 'State files (mqtt.sqlite, history.sqlite) found damaged, moved aside and replaced by fresh ones.',
    labelNames: ['file'],
    registers: [registry],
  });
  for (const file of ['mqtt.sqlite', 'history.sqlite']) counter.labels(file).inc(0);
  return (file) => counter.labels(file).inc();
}
