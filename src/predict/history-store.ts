import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
  private readonly db: Database.Database;
  private readonly insert: (disk: string, day: string, atMs: number, json: string) => void;
  private readonly select: Database.Statement;
  private readonly prune: Database.Statement;
  private readonly alarms: { select?: Database.Statement; upsert?: Database.Statement; remove?: Database.Statement; prune?: Database.Statement };
  private lastPruneDay = '';

  constructor(file: string, options: { readonly?: boolean } = {}) {
    this.db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
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

  /** Opens (creating) `<dir>/history.sqlite`. */
  static open(dir: string): SqliteHistoryStore {
    mkdirSync(dir, { recursive: true });
    return new SqliteHistoryStore(join(dir, 'history.sqlite'));
  }

  append(disk: string, sample: DiskSample): void {
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
    return (this.select.all(disk, sinceMs) as Array<{ sample: string }>).map((row) => JSON.parse(row.sample) as DiskSample);
  }

  alarm(disk: string): AlarmState | undefined {
    const row = this.alarms.select?.get(disk) as { alarm: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.alarm) as AlarmState);
  }

  saveAlarm(disk: string, alarm: AlarmState | undefined): void {
    if (alarm === undefined) this.alarms.remove?.run(disk);
    else this.alarms.upsert?.run(disk, JSON.stringify(alarm));
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
