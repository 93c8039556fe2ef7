import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkDatabase, isDamage, moveAside, openStateFile, type DamagedStateFile, type OnDamaged } from '../state-file.js';
import type { Logger } from '../logger.js';
import type { AlarmState } from './replace-by.js';
import type { DiskSample } from './types.js';

/** Days of daily samples kept per disk: the predictor looks back 30; 180 leaves room to explain. */
export const HISTORY_DAYS = 180;
const DAY_MS = 86_400_000;

/**
 * Per-disk daily samples of the predictor's inputs: the first and the last sample of each day are
 * kept, so growth within a day (a disk's first day under harbinger, or a bad afternoon) is seen.
 * And each disk's open alarm, so that its replace-by date survives a restart.
 */
export interface HistoryStore {
  /** Records a sample as its day's last (and, if it is the day's first, first) sample. */
  append(disk: string, sample: DiskSample): void;
  /** Daily samples since `sinceMs`, oldest first. */
  history(disk: string, sinceMs: number): DiskSample[];
  /** The disk's open alarm and its replace-by date (replace-by.ts), if it has one. */
  alarm(disk: string): AlarmState | undefined;
  /** Saves the disk's alarm, or forgets it (undefined). */
  saveAlarm(disk: string, alarm: AlarmState | undefined): void;
  close(): void;
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * SQLite in the state directory. Each write is one transaction in WAL mode with synchronous=FULL:
 * a crash or power cut mid-write leaves the previous day's samples intact, never a torn file.
 */
export class SqliteHistoryStore implements HistoryStore {
  private db!: Database.Database;
  private insert!: (disk: string, day: string, atMs: number, json: string) => void;
  private select!: Database.Statement;
  private prune!: Database.Statement;
  private alarms!: { select?: Database.Statement; upsert?: Database.Statement; remove?: Database.Statement; prune?: Database.Statement };
  private lastPruneDay = '';

  /**
   * `onDamaged` (writable stores): damage found at a later query (SQLITE_CORRUPT, SQLITE_NOTADB)
   * moves the file aside and carries on with a fresh one, reported here; without it, it is thrown.
   */
  constructor(
    private readonly file: string,
    private readonly options: { readonly?: boolean; onDamaged?: OnDamaged } = {},
  ) {
    const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    try {
      this.connect(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private connect(db: Database.Database): void {
    const options = this.options;
    this.db = db;
    if (!options.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(`CREATE TABLE IF NOT EXISTS samples (
        disk TEXT NOT NULL,
        day TEXT NOT NULL,
        slot TEXT NOT NULL CHECK (slot IN ('first', 'last')),
        at_ms INTEGER NOT NULL,
        sample TEXT NOT NULL,
        PRIMARY KEY (disk, day, slot)
      ) WITHOUT ROWID`);
      this.db.exec('CREATE TABLE IF NOT EXISTS alarms (disk TEXT PRIMARY KEY, alarm TEXT NOT NULL) WITHOUT ROWID');
    }
    const upsert = (slot: 'first' | 'last', keep: string) =>
      this.db.prepare(
        `INSERT INTO samples (disk, day, slot, at_ms, sample) VALUES (?, ?, '${slot}', ?, ?) ON CONFLICT (disk, day, slot) DO UPDATE SET at_ms = excluded.at_ms, sample = excluded.sample WHERE ${keep}`,
      );
    const first = upsert('first', 'excluded.at_ms < samples.at_ms');
    const last = upsert('last', 'excluded.at_ms >= samples.at_ms');
    this.insert = this.db.transaction((disk: string, day: string, atMs: number, json: string) => {
      first.run(disk, day, atMs, json);
      last.run(disk, day, atMs, json);
    });
    // DISTINCT: a day with one sample has it in both slots.
    this.select = this.db.prepare('SELECT DISTINCT at_ms, sample FROM samples WHERE disk = ? AND at_ms >= ? ORDER BY at_ms');
    this.prune = this.db.prepare('DELETE FROM samples WHERE at_ms < ?');
    // A state directory written by a version without alarms, opened read-only: none to read.
    const hasAlarms = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alarms'").get() !== undefined;
    this.alarms = hasAlarms
      ? {
          select: this.db.prepare('SELECT alarm FROM alarms WHERE disk = ?'),
          ...(options.readonly
            ? {}
            : {
                upsert: this.db.prepare('INSERT INTO alarms (disk, alarm) VALUES (?, ?) ON CONFLICT (disk) DO UPDATE SET alarm = excluded.alarm'),
                remove: this.db.prepare('DELETE FROM alarms WHERE disk = ?'),
                // A disk reading at all adds a sample a day: one without any left has gone.
                prune: this.db.prepare('DELETE FROM alarms WHERE disk NOT IN (SELECT disk FROM samples)'),
              }),
        }
      : {};
  }

  /**
   * Opens (creating) `<dir>/history.sqlite`, checked whole (state-file.ts): a damaged one is moved
   * aside, reported to `onDamaged`, and replaced by a fresh one.
   */
  static open(dir: string, onDamaged: OnDamaged = () => {}): SqliteHistoryStore {
    mkdirSync(dir, { recursive: true });
    return openStateFile(
      join(dir, 'history.sqlite'),
      (file) => {
        const store = new SqliteHistoryStore(file, { onDamaged });
        try {
          checkDatabase(store.db, ['samples', 'alarms']);
        } catch (err) {
          store.close();
          throw err;
        }
        return store;
      },
      onDamaged,
    );
  }

  /** Runs a query; damage found by it moves the file aside and the query runs again on a fresh file. */
  private guard<T>(query: () => T): T {
    try {
      return query();
    } catch (err) {
      const onDamaged = this.options.onDamaged;
      if (!isDamage(err) || !onDamaged) throw err;
      try {
        this.db.close();
      } catch {
        // Closing a damaged database may fail too: it is being replaced.
      }
      let damagedCopy: string | undefined;
      let inMemory = false;
      try {
        damagedCopy = moveAside(this.file, Date.now());
        this.connect(new Database(this.file));
      } catch {
        // No fresh file can be made here: the history goes on in memory until the agent stops.
        this.connect(new Database(':memory:'));
        inMemory = true;
      }
      onDamaged({ file: this.file, damagedCopy, found: err instanceof Error ? err.message : String(err), ...(inMemory ? { inMemory } : {}) });
      return query();
    }
  }

  append(disk: string, sample: DiskSample): void {
    this.guard(() => this.appendSample(disk, sample));
  }

  private appendSample(disk: string, sample: DiskSample): void {
    const day = dayOf(sample.atMs);
    this.insert(disk, day, sample.atMs, JSON.stringify(sample));
    if (day !== this.lastPruneDay) {
      this.lastPruneDay = day;
      this.prune.run(sample.atMs - HISTORY_DAYS * DAY_MS);
      // A disk that left with its alarm open: forgotten with its samples.
      this.alarms.prune?.run();
    }
  }

  history(disk: string, sinceMs: number): DiskSample[] {
    return this.guard(() => this.select.all(disk, sinceMs) as Array<{ sample: string }>).map((row) => JSON.parse(row.sample) as DiskSample);
  }

  alarm(disk: string): AlarmState | undefined {
    const row = this.guard(() => this.alarms.select?.get(disk) as { alarm: string } | undefined);
    return row === undefined ? undefined : (JSON.parse(row.alarm) as AlarmState);
  }

  saveAlarm(disk: string, alarm: AlarmState | undefined): void {
    this.guard(() => (alarm === undefined ? this.alarms.remove?.run(disk) : this.alarms.upsert?.run(disk, JSON.stringify(alarm))));
  }

  close(): void {
    this.db.close();
  }
}

/** When the state directory cannot be used: the same behaviour, kept only until the agent stops. */
export class MemoryHistoryStore implements HistoryStore {
  private readonly samples = new Map<string, Map<string, { first: DiskSample; last: DiskSample }>>();
  private readonly alarms = new Map<string, AlarmState>();

  append(disk: string, sample: DiskSample): void {
    let days = this.samples.get(disk);
    if (!days) this.samples.set(disk, (days = new Map()));
    const day = dayOf(sample.atMs);
    const current = days.get(day);
    days.set(day, {
      first: current && current.first.atMs <= sample.atMs ? current.first : sample,
      last: current && current.last.atMs > sample.atMs ? current.last : sample,
    });
    for (const [d, s] of days) if (s.last.atMs < sample.atMs - HISTORY_DAYS * DAY_MS) days.delete(d);
  }

  history(disk: string, sinceMs: number): DiskSample[] {
    const all = [...(this.samples.get(disk)?.values() ?? [])].flatMap((d) => (d.first === d.last ? [d.first] : [d.first, d.last]));
    return all.filter((s) => s.atMs >= sinceMs).sort((a, b) => a.atMs - b.atMs);
  }

  alarm(disk: string): AlarmState | undefined {
    return this.alarms.get(disk);
  }

  saveAlarm(disk: string, alarm: AlarmState | undefined): void {
    if (alarm === undefined) this.alarms.delete(disk);
    else this.alarms.set(disk, alarm);
  }

  close(): void {}
}

/**
 * The agent's history: `<dir>/history.sqlite`, a damaged one moved aside (one error line, and
 * `counted`) and started afresh; in memory, with a warning, when the directory cannot be used.
 */
export function openHistoryStore(dir: string, logger: Logger, counted: () => void): HistoryStore {
  const damaged = (d: DamagedStateFile) => {
    logger.error(
      { file: d.file, damagedCopy: d.damagedCopy ?? null, found: d.found, lost: 'the daily SMART samples of every disk and their open alarms (replace-by dates)', ...(d.inMemory ? { inMemory: true } : {}) },
      d.inMemory
        ? 'the disk history is damaged and no fresh file can be made: history is kept in memory only until exit'
        : 'the disk history is damaged: moved aside and started afresh; predictions start again without history',
    );
    counted();
  };
  try {
    return SqliteHistoryStore.open(dir, damaged);
  } catch (err) {
    logger.warn({ err, stateDir: dir }, 'cannot use the state directory: disk history is kept in memory only and lost at exit (set state_dir to a writable directory)');
    return new MemoryHistoryStore();
  }
}
