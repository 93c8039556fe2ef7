import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { GrantChange, GrantRow } from './clusters/grants.js';
import { grantParams, grantRow, optional, parseJson, type FleetStore } from './store.js';
import type { DiskRecord, EventQuery, FleetEvent, HostRecord, HostStatus } from './types.js';

/**
 * Schema versions in order; `PRAGMA user_version` says how many are applied. A change to the
 * schema is a new entry here (and in store-postgres.ts), never an edit of an applied one.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS hosts (
     host TEXT PRIMARY KEY,
     state TEXT NOT NULL,
     reason TEXT,
     version TEXT,
     boot INTEGER,
     started TEXT,
     last_seen INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE IF NOT EXISTS disks (
     host TEXT NOT NULL,
     disk TEXT NOT NULL,
     slot TEXT NOT NULL,
     device TEXT NOT NULL,
     model TEXT,
     serial TEXT,
     protocol TEXT,
     level TEXT NOT NULL,
     predicted_level TEXT NOT NULL,
     probability REAL NOT NULL,
     horizon_days INTEGER,
     replace_by TEXT,
     evidence TEXT NOT NULL,
     episode_started TEXT,
     last_reading TEXT NOT NULL,
     updated INTEGER NOT NULL,
     PRIMARY KEY (host, disk)
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS disks_slot ON disks (host, slot);
   CREATE TABLE IF NOT EXISTS events (
     source TEXT NOT NULL,
     id TEXT NOT NULL,
     type TEXT NOT NULL,
     subject TEXT NOT NULL,
     time TEXT NOT NULL,
     host TEXT NOT NULL,
     disk TEXT NOT NULL,
     data TEXT NOT NULL,
     received INTEGER NOT NULL,
     PRIMARY KEY (source, id)
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS events_received ON events (received);
   CREATE INDEX IF NOT EXISTS events_host_disk ON events (host, disk, time);`,
  `CREATE TABLE IF NOT EXISTS drain_grants (
     host TEXT PRIMARY KEY,
     cluster TEXT NOT NULL,
     request TEXT NOT NULL,
     state TEXT NOT NULL,
     reason TEXT NOT NULL,
     verdict TEXT NOT NULL,
     decided INTEGER NOT NULL,
     lease_expires INTEGER,
     collector TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX IF NOT EXISTS drain_grants_cluster ON drain_grants (cluster);`,
];

/** Any message from a host proves it exists: a host known only from its disks is `unknown`. */
const TOUCH_HOST = `INSERT INTO hosts (host, state, last_seen) VALUES (?, 'unknown', ?)
  ON CONFLICT (host) DO UPDATE SET last_seen = max(hosts.last_seen, excluded.last_seen)`;

const msOf = (v: unknown) => v as number;

const UPSERT_GRANT = `INSERT INTO drain_grants (host, cluster, request, state, reason, verdict, decided, lease_expires, collector)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (host) DO UPDATE SET cluster = excluded.cluster, request = excluded.request, state = excluded.state, reason = excluded.reason,
    verdict = excluded.verdict, decided = excluded.decided, lease_expires = excluded.lease_expires, collector = excluded.collector`;


/**
 * The embedded store: one SQLite file (WAL, synchronous=FULL, so a write is on disk before the
 * broker is told it arrived). better-sqlite3 is synchronous; the async interface is the store's.
 */
export class SqliteFleetStore implements FleetStore {
  private db: Database.Database | undefined;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly path: string) {}

  async open(): Promise<void> {
    if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
    const db = new Database(this.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // A second process on the same file (harbinger check-config does not, a mistake might) waits, not fails.
      db.pragma('busy_timeout = 5000');
      const applied = db.pragma('user_version', { simple: true }) as number;
      db.transaction(() => {
        for (let v = applied; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${Math.max(applied, MIGRATIONS.length)}`);
      })();
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  async close(): Promise<void> {
    this.statements.clear();
    this.db?.close();
    this.db = undefined;
  }

  async addEvent(e: FleetEvent): Promise<boolean> {
    const db = this.handle();
    return db.transaction(() => {
      const { changes } = this.stmt(
        'INSERT INTO events (source, id, type, subject, time, host, disk, data, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING',
      ).run(e.source, e.id, e.type, e.subject, e.time, e.host, e.disk, JSON.stringify(e.data), e.receivedMs);
      this.stmt(TOUCH_HOST).run(e.host, e.receivedMs);
      return changes === 1;
    })();
  }

  async putStatus(s: HostStatus): Promise<void> {
    // A status from an older boot (a slower collector sharing the store) does not undo a newer one.
    this.stmt(
      `INSERT INTO hosts (host, state, reason, version, boot, started, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (host) DO UPDATE SET state = excluded.state, reason = excluded.reason,
         version = coalesce(excluded.version, hosts.version), boot = coalesce(excluded.boot, hosts.boot),
         started = coalesce(excluded.started, hosts.started), last_seen = max(hosts.last_seen, excluded.last_seen)
       WHERE hosts.boot IS NULL OR excluded.boot IS NULL OR excluded.boot >= hosts.boot`,
    ).run(s.host, s.state, s.reason ?? null, s.version ?? null, s.boot ?? null, s.started ?? null, s.receivedMs);
  }

  async removeHost(host: string): Promise<void> {
    this.stmt('DELETE FROM hosts WHERE host = ?').run(host);
  }

  async putDisk(d: DiskRecord): Promise<void> {
    const db = this.handle();
    db.transaction(() => {
      this.stmt(
        `INSERT INTO disks (host, disk, slot, device, model, serial, protocol, level, predicted_level, probability, horizon_days,
           replace_by, evidence, episode_started, last_reading, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (host, disk) DO UPDATE SET slot = excluded.slot, device = excluded.device, model = excluded.model,
           serial = excluded.serial, protocol = excluded.protocol, level = excluded.level, predicted_level = excluded.predicted_level,
           probability = excluded.probability, horizon_days = excluded.horizon_days, replace_by = excluded.replace_by,
           evidence = excluded.evidence, episode_started = excluded.episode_started, last_reading = excluded.last_reading,
           updated = excluded.updated
         WHERE excluded.last_reading >= disks.last_reading`,
      ).run(
        d.host, d.disk, d.slot, d.device, d.model ?? null, d.serial ?? null, d.protocol ?? null, d.level, d.predictedLevel,
        d.probability, d.horizonDays ?? null, d.replaceBy ?? null, JSON.stringify(d.evidence), d.episodeStarted ?? null,
        d.lastReading, d.updatedMs,
      );
      this.stmt(TOUCH_HOST).run(d.host, d.updatedMs);
    })();
  }

  async removeDisk(host: string, slot: string, receivedMs: number): Promise<void> {
    const db = this.handle();
    db.transaction(() => {
      this.stmt('DELETE FROM disks WHERE host = ? AND slot = ?').run(host, slot);
      this.stmt(TOUCH_HOST).run(host, receivedMs);
    })();
  }

  async hosts(): Promise<HostRecord[]> {
    const rows = this.stmt('SELECT * FROM hosts ORDER BY host').all() as Record<string, any>[];
    return rows.map((r) => ({
      host: r.host,
      state: r.state,
      ...optional({ reason: r.reason, version: r.version, boot: r.boot, started: r.started }),
      lastSeenMs: r.last_seen,
    }));
  }

  async disks(): Promise<DiskRecord[]> {
    const rows = this.stmt('SELECT * FROM disks ORDER BY host, disk').all() as Record<string, any>[];
    return rows.map((r) => ({
      host: r.host,
      disk: r.disk,
      slot: r.slot,
      device: r.device,
      ...optional({ model: r.model, serial: r.serial, protocol: r.protocol, horizonDays: r.horizon_days, replaceBy: r.replace_by, episodeStarted: r.episode_started }),
      level: r.level,
      predictedLevel: r.predicted_level,
      probability: r.probability,
      evidence: parseJson(r.evidence, []),
      lastReading: r.last_reading,
      updatedMs: r.updated,
    }));
  }

  async events(q: EventQuery): Promise<FleetEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['host', 'disk'] as const) {
      if (q[key] === undefined) continue;
      where.push(`${key} = ?`);
      params.push(q[key]);
    }
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, received DESC LIMIT ?`;
    const rows = this.stmt(sql).all(...params, q.limit) as Record<string, any>[];
    return rows.map((r) => ({
      source: r.source,
      id: r.id,
      type: r.type,
      subject: r.subject,
      time: r.time,
      host: r.host,
      disk: r.disk,
      data: parseJson(r.data, {}),
      receivedMs: r.received,
    }));
  }

  async countEvents(): Promise<number> {
    return this.stmt('SELECT count(*) FROM events').pluck().get() as number;
  }

  async prune(beforeMs: number): Promise<number> {
    return this.stmt('DELETE FROM events WHERE received < ?').run(beforeMs).changes;
  }

  async decideGrants(cluster: string, decide: (current: GrantRow[]) => GrantChange[]): Promise<GrantChange[]> {
    const db = this.handle();
    // IMMEDIATE: the write lock is taken before the read, as PostgreSQL's advisory lock is.
    return db
      .transaction(() => {
        const current = (this.stmt('SELECT * FROM drain_grants WHERE cluster = ? ORDER BY host').all(cluster) as Record<string, any>[]).map((r) => grantRow(r, msOf));
        const changes = decide(current);
        for (const change of changes) {
          if (change.kind === 'released') this.stmt('DELETE FROM drain_grants WHERE host = ? AND request = ?').run(change.row.host, change.row.request);
          else this.stmt(UPSERT_GRANT).run(...grantParams(change.row, (ms) => ms));
        }
        return changes;
      })
      .immediate();
  }

  async grants(): Promise<GrantRow[]> {
    return (this.stmt('SELECT * FROM drain_grants ORDER BY host').all() as Record<string, any>[]).map((r) => grantRow(r, msOf));
  }

  private handle(): Database.Database {
    if (!this.db) throw new Error('the fleet store is not open');
    return this.db;
  }

  /** Statements are prepared once per open database. */
  private stmt(sql: string): Database.Statement {
    const db = this.handle();
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
