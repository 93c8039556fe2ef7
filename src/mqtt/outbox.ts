import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DiskTrack } from './disk-tracker.js';
import type { OutgoingEvent } from './events.js';

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
  private readonly db: Database.Database;
  private readonly statements;
  private readonly addTransaction: (events: readonly OutgoingEvent[], tracks: readonly DiskTrack[], removed: readonly string[]) => number;
  private readonly deleteTransaction: (seqs: readonly number[]) => void;

  /** `file` ':memory:' keeps everything in memory: the fallback when the state directory is unusable. */
  constructor(
    file: string,
    private readonly maxEvents: number,
  ) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
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
    this.statements = {
      insert: this.db.prepare('INSERT INTO events (id, topic, subject, payload) VALUES (?, ?, ?, ?)'),
      count: this.db.prepare('SELECT count(*) AS n FROM events').pluck(),
      dropOldest: this.db.prepare('DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)'),
      after: this.db.prepare('SELECT seq, id, topic, subject, payload FROM events WHERE seq > ? ORDER BY seq LIMIT ?'),
      delete: this.db.prepare('DELETE FROM events WHERE seq = ?'),
      saveTrack: this.db.prepare('INSERT INTO tracks (disk, track) VALUES (?, ?) ON CONFLICT (disk) DO UPDATE SET track = excluded.track'),
      deleteTrack: this.db.prepare('DELETE FROM tracks WHERE disk = ?'),
      tracks: this.db.prepare('SELECT track FROM tracks').pluck(),
      setRetained: this.db.prepare('INSERT INTO retained (topic, payload) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET payload = excluded.payload'),
      retained: this.db.prepare('SELECT topic, payload FROM retained ORDER BY topic'),
      clearedDone: this.db.prepare("DELETE FROM retained WHERE topic = ? AND payload = ''"),
      bumpBoot: this.db.prepare("INSERT INTO meta (key, value) VALUES ('boot', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value").pluck(),
    };
    this.addTransaction = this.db.transaction((events, tracks, removed) => {
      for (const e of events) this.statements.insert.run(e.id, e.topic, e.subject, e.payload);
      for (const t of tracks) this.statements.saveTrack.run(t.disk, JSON.stringify(t));
      for (const disk of removed) this.statements.deleteTrack.run(disk);
      const excess = (this.statements.count.get() as number) - this.maxEvents;
      if (excess > 0) this.statements.dropOldest.run(excess);
      return Math.max(0, excess);
    });
    this.deleteTransaction = this.db.transaction((seqs) => {
      for (const seq of seqs) this.statements.delete.run(seq);
    });
  }

  static open(dir: string, maxEvents: number): Outbox {
    mkdirSync(dir, { recursive: true });
    return new Outbox(join(dir, 'mqtt.sqlite'), maxEvents);
  }

  /**
   * Commits events together with the disk tracks that produced them: both or neither. Past the
   * bound the oldest events are dropped in the same transaction.
   */
  add(events: readonly OutgoingEvent[], tracks: readonly DiskTrack[] = [], removedDisks: readonly string[] = []): AddResult {
    return { dropped: this.addTransaction(events, tracks, removedDisks) };
  }

  /** Up to `limit` events after `seq`, in order. */
  after(seq: number, limit: number): StoredEvent[] {
    return this.statements.after.all(seq, limit) as StoredEvent[];
  }

  /** Removes acknowledged events (one transaction, one fsync, however many). */
  acknowledge(seqs: readonly number[]): void {
    if (seqs.length > 0) this.deleteTransaction(seqs);
  }

  depth(): number {
    return this.statements.count.get() as number;
  }

  tracks(): Map<string, DiskTrack> {
    const tracks = (this.statements.tracks.all() as string[]).map((json) => JSON.parse(json) as DiskTrack);
    return new Map(tracks.map((t) => [t.disk, t]));
  }

  /** Records what the broker should retain on a topic; '' means the topic is to be cleared. */
  setRetained(topic: string, payload: string): void {
    this.statements.setRetained.run(topic, payload);
  }

  retained(): RetainedEntry[] {
    return this.statements.retained.all() as RetainedEntry[];
  }

  /** The broker acknowledged clearing a topic: nothing more is owed there. */
  clearedRetained(topic: string): void {
    this.statements.clearedDone.run(topic);
  }

  /** Counts this start: the status message's boot sequence number. */
  nextBoot(): number {
    return this.statements.bumpBoot.get() as number;
  }

  close(): void {
    this.db.close();
  }
}
