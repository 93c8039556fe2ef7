import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DiskTrack } from './disk-tracker.js';
import type { OutgoingEvent } from './events.js';
import { checkDatabase, isDamage, moveAside, openStateFile, type OnDamaged } from '../state-file.js';

const TABLES = ['events', 'tracks', 'retained', 'meta'];

export interface StoredEvent extends OutgoingEvent {
  /** Outbox order: events leave in this order. */
  seq: number;
}

/** One retained topic the broker should hold: a payload, or '' for "clear it". */
export interface RetainedEntry {
  topic: string;
  payload: string;
}

export interface AddResult {
  /** Events that had to make room past `mqtt.outbox.max_events`, oldest first. */
  dropped: number;
}

/**
 * The durable side of MQTT, one SQLite file in the state directory:
 * - `events`: the outbox. An event is committed (WAL, synchronous=FULL: fsynced) before anything
 *   publishes it, and deleted only once the broker has acknowledged it (PUBACK).
 * - `tracks`: what has been announced per disk, saved in the same transaction as the events it
 *   caused, so a crash can lose neither half.
 * - `retained`: the retained topics the broker should hold (and clears still owed), so stale disk
 *   state is cleared even if the disk vanished while the agent was down or the broker away.
 * - `meta`: the boot sequence number of the status message.
 */
export class Outbox {
  private db!: Database.Database;
  private statements!: ReturnType<Outbox['prepare']>;
  private addTransaction!: (events: readonly OutgoingEvent[], tracks: readonly DiskTrack[], removed: readonly string[]) => number;
  private deleteTransaction!: (seqs: readonly number[]) => void;
  /** The highest event number given out: a fresh file after damage continues from it, so the publisher's cursor stays right. */
  private lastSeq = 0;
  private inMemory: boolean;

  /**
   * `file` ':memory:' keeps everything in memory: the fallback when the state directory is unusable.
   * `onDamaged`: damage found at a later query (SQLITE_CORRUPT, SQLITE_NOTADB) moves the file aside
   * and carries on with a fresh one (or in memory, if none can be made), reported here; without it,
   * such an error is thrown.
   */
  constructor(
    private readonly file: string,
    private readonly maxEvents: number,
    private readonly onDamaged?: OnDamaged,
  ) {
    this.inMemory = file === ':memory:';
    this.connect(file);
  }

  /**
   * Opens (creating) `<dir>/mqtt.sqlite`, checked whole (state-file.ts): a damaged one is moved
   * aside, reported to `onDamaged`, and replaced by a fresh one.
   */
  static open(dir: string, maxEvents: number, onDamaged: OnDamaged = () => {}): Outbox {
    mkdirSync(dir, { recursive: true });
    return openStateFile(
      join(dir, 'mqtt.sqlite'),
      (file) => {
        const outbox = new Outbox(file, maxEvents, onDamaged);
        try {
          checkDatabase(outbox.db, TABLES);
          outbox.tracks();
        } catch (err) {
          outbox.close();
          throw err;
        }
        return outbox;
      },
      onDamaged,
    );
  }

  /** In memory only (the state directory is unusable, or a damaged file could not be replaced). */
  get volatile(): boolean {
    return this.inMemory;
  }

  private connect(file: string): void {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(`
        CREATE TABLE IF NOT EXISTS events (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL,
          topic TEXT NOT NULL,
          subject TEXT NOT NULL,
          payload TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS tracks (disk TEXT PRIMARY KEY, track TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, payload TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      `);
      this.db = db;
      this.statements = this.prepare();
    } catch (err) {
      db.close();
      throw err;
    }
    this.addTransaction = db.transaction((events, tracks, removed) => {
      for (const e of events) this.lastSeq = Math.max(this.lastSeq, Number(this.statements.insert.run(e.id, e.topic, e.subject, e.payload).lastInsertRowid));
      for (const t of tracks) this.statements.saveTrack.run(t.disk, JSON.stringify(t));
      for (const disk of removed) this.statements.deleteTrack.run(disk);
      const excess = (this.statements.count.get() as number) - this.maxEvents;
      if (excess > 0) this.statements.dropOldest.run(excess);
      return Math.max(0, excess);
    });
    this.deleteTransaction = db.transaction((seqs) => {
      for (const seq of seqs) this.statements.delete.run(seq);
    });
  }

  private prepare() {
    const db = this.db;
    return {
      insert: db.prepare('INSERT INTO events (id, topic, subject, payload) VALUES (?, ?, ?, ?)'),
      count: db.prepare('SELECT count(*) AS n FROM events').pluck(),
      dropOldest: db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)'),
      after: db.prepare('SELECT seq, id, topic, subject, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      delete: db.prepare('DELETE FROM events WHERE seq = ?'),
      saveTrack: db.prepare('INSERT INTO tracks (disk, track) VALUES (?, ?) ON CONFLICT (disk) DO UPDATE SET track = excluded.track'),
      deleteTrack: db.prepare('DELETE FROM tracks WHERE disk = ?'),
      tracks: db.prepare('SELECT track FROM tracks').pluck(),
      setRetained: db.prepare('INSERT INTO retained (topic, payload) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload'),
      retained: db.prepare('SELECT topic, payload FROM retained ORDER BY topic'),
      clearedDone: db.prepare("DELETE FROM retained WHERE topic = ? AND payload = ''"),
      bumpBoot: db.prepare("INSERT INTO meta (key, value) VALUES ('boot', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value").pluck(),
    };
  }

  /**
   * Runs a query; damage found by it (the file went bad while open) moves the file aside and the
   * query runs again on a fresh file, or in memory if no fresh file can be made.
   */
  private guard<T>(query: () => T): T {
    try {
      return query();
    } catch (err) {
      if (!isDamage(err) || !this.onDamaged || this.inMemory) throw err;
      this.recover(err);
      return query();
    }
  }

  private recover(err: unknown): void {
    try {
      this.db.close();
    } catch {
      // Closing a damaged database may fail too: it is being replaced.
    }
    let damagedCopy: string | undefined;
    try {
      damagedCopy = moveAside(this.file, Date.now());
      this.connect(this.file);
    } catch {
      this.connect(':memory:');
      this.inMemory = true;
    }
    // A fresh file numbers events on from the last one, so the publisher's cursor stays valid.
    if (this.lastSeq > 0) this.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(this.lastSeq);
    this.onDamaged?.({ file: this.file, damagedCopy, found: err instanceof Error ? err.message : String(err), inMemory: this.inMemory });
  }

  /**
   * Commits events together with the disk tracks that produced them: both or neither. Past the
   * bound the oldest events are dropped in the same transaction.
   */
  add(events: readonly OutgoingEvent[], tracks: readonly DiskTrack[] = [], removedDisks: readonly string[] = []): AddResult {
    return { dropped: this.guard(() => this.addTransaction(events, tracks, removedDisks)) };
  }

  /** Up to `limit` events after `seq`, in order. */
  after(seq: number, limit: number): StoredEvent[] {
    return this.guard(() => this.statements.after.all(seq, limit) as StoredEvent[]);
  }

  /** Removes acknowledged events (one transaction, one fsync, however many). */
  acknowledge(seqs: readonly number[]): void {
    if (seqs.length > 0) this.guard(() => this.deleteTransaction(seqs));
  }

  depth(): number {
    return this.guard(() => this.statements.count.get() as number);
  }

  tracks(): Map<string, DiskTrack> {
    const tracks = this.guard(() => this.statements.tracks.all() as string[]).map((json) => JSON.parse(json) as DiskTrack);
    return new Map(tracks.map((t) => [t.disk, t]));
  }

  /** Records what the broker should retain on a topic; '' means the topic is to be cleared. */
  setRetained(topic: string, payload: string): void {
    this.guard(() => this.statements.setRetained.run(topic, payload));
  }

  retained(): RetainedEntry[] {
    return this.guard(() => this.statements.retained.all() as RetainedEntry[]);
  }

  /** The broker acknowledged clearing a topic: nothing more is owed there. */
  clearedRetained(topic: string): void {
    this.guard(() => this.statements.clearedDone.run(topic));
  }

  /** Counts this start: the status message's boot sequence number. */
  nextBoot(): number {
    return this.guard(() => this.statements.bumpBoot.get() as number);
  }

  close(): void {
    this.db.close();
  }
}
