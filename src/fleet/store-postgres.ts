import pg from 'pg';
import type { Logger } from '../logger.js';
import type { GrantChange, GrantRow } from './clusters/grants.js';
import { grantParams, grantRow, optional, parseJson, type FleetStore } from './store.js';
import type { DiskRecord, EventQuery, FleetEvent, HostRecord, HostStatus } from './types.js';

/**
 * Schema versions in order, recorded in `fleet_schema`. A change to the schema is a new entry
 * here (and in store-sqlite.ts), never an edit of an applied one.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS hosts (
     host text PRIMARY KEY,
     state text NOT NULL,
     reason text,
     version text,
     boot integer,
     started timestamptz,
     last_seen timestamptz NOT NULL
   );
   CREATE TABLE IF NOT EXISTS disks (
     host text NOT NULL,
     disk text NOT NULL,
     slot text NOT NULL,
     device text NOT NULL,
     model text,
     serial text,
     protocol text,
     level text NOT NULL,
     predicted_level text NOT NULL,
     probability double precision NOT NULL,
     horizon_days integer,
     replace_by date,
     evidence jsonb NOT NULL,
     episode_started timestamptz,
     last_reading timestamptz NOT NULL,
     updated timestamptz NOT NULL,
     PRIMARY KEY (host, disk)
   );
   CREATE INDEX IF NOT EXISTS disks_slot ON disks (host, slot);
   CREATE TABLE IF NOT EXISTS events (
     source text NOT NULL,
     id text NOT NULL,
     type text NOT NULL,
     subject text NOT NULL,
     time timestamptz NOT NULL,
     host text NOT NULL,
     disk text NOT NULL,
     data jsonb NOT NULL,
     received timestamptz NOT NULL,
     PRIMARY KEY (source, id)
   );
   CREATE INDEX IF NOT EXISTS events_received ON events (received);
   CREATE INDEX IF NOT EXISTS events_host_disk ON events (host, disk, time);`,
  `CREATE TABLE IF NOT EXISTS drain_grants (
     host text PRIMARY KEY,
     cluster text NOT NULL,
     request text NOT NULL,
     state text NOT NULL,
     reason text NOT NULL,
     verdict text NOT NULL,
     decided timestamptz NOT NULL,
     lease_expires timestamptz,
     collector text NOT NULL
   );
   CREATE INDEX IF NOT EXISTS drain_grants_cluster ON drain_grants (cluster);`,
];

/** Collectors starting together take turns at the schema (pg_advisory_xact_lock key: "hbfleet"). */
const MIGRATION_LOCK = 0x6862_666c_6565_74n;
/** The first key of a cluster's lock (pg_advisory_xact_lock(int, int): "hbcl"), the second is hashtext(cluster). */
const CLUSTER_LOCK_SPACE = 0x6862_636c;

const dateMs = (v: unknown) => (v as Date).getTime();

const UPSERT_GRANT = `INSERT INTO drain_grants (host, cluster, request, state, reason, verdict, decided, lease_expires, collector)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
  ON CONFLICT (host) DO UPDATE SET cluster = excluded.cluster, request = excluded.request, state = excluded.state, reason = excluded.reason,
    verdict = excluded.verdict, decided = excluded.decided, lease_expires = excluded.lease_expires, collector = excluded.collector`;


/** Any message from a host proves it exists: a host known only from its disks is `unknown`. */
const touchHost = (host: string, at: string) => `INSERT INTO hosts (host, state, last_seen) VALUES (${host}, 'unknown', ${at})
  ON CONFLICT (host) DO UPDATE SET last_seen = greatest(hosts.last_seen, excluded.last_seen)`;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOf = (value: Date | null) => (value === null ? null : value.toISOString());

/**
 * The shared store: several collectors on one PostgreSQL database. Each write is one statement
 * (data-modifying CTEs where two tables change), so it is atomic without a transaction held across
 * round trips; (source, id) is the events' primary key, so when two collectors both receive an
 * event (a redelivery after a crash) exactly one INSERT wins.
 */
export class PostgresFleetStore implements FleetStore {
  private pool: pg.Pool | undefined;

  constructor(
    private readonly settings: { dsn: string; password?: string },
    private readonly logger: Logger,
  ) {}

  async open(): Promise<void> {
    const pool = new pg.Pool({
      connectionString: dsnWithPassword(this.settings.dsn, this.settings.password),
      application_name: 'harbinger-fleet',
      max: 4,
      connectionTimeoutMillis: 5000,
      // A hung query must fail (and the message go unacknowledged), not stall the collector.
      query_timeout: 10_000,
      statement_timeout: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // An idle client whose server went away: the next query gets a new one. Never a crash.
    pool.on('error', (err) => this.logger.warn({ err }, 'PostgreSQL connection of the fleet store lost'));
    try {
      await migrate(pool);
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.pool = pool;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  async addEvent(e: FleetEvent): Promise<boolean> {
    const rows = await this.query<{ inserted: number }>(
      `WITH event AS (
         INSERT INTO events (source, id, type, subject, time, host, disk, data, received) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (source, id) DO NOTHING RETURNING 1
       ), host AS (${touchHost('$6', '$9')})
       SELECT count(*)::int AS inserted FROM event`,
      [e.source, e.id, e.type, e.subject, e.time, e.host, e.disk, JSON.stringify(e.data), iso(e.receivedMs)],
    );
    return rows[0]?.inserted === 1;
  }

  async putStatus(s: HostStatus): Promise<void> {
    await this.query(
      `INSERT INTO hosts (host, state, reason, version, boot, started, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (host) DO UPDATE SET state = excluded.state, reason = excluded.reason,
         version = coalesce(excluded.version, hosts.version), boot = coalesce(excluded.boot, hosts.boot),
         started = coalesce(excluded.started, hosts.started), last_seen = greatest(hosts.last_seen, excluded.last_seen)
       WHERE hosts.boot IS NULL OR excluded.boot IS NULL OR excluded.boot >= hosts.boot`,
      [s.host, s.state, s.reason ?? null, s.version ?? null, s.boot ?? null, s.started ?? null, iso(s.receivedMs)],
    );
  }

  async removeHost(host: string): Promise<void> {
    await this.query('DELETE FROM hosts WHERE host = $1', [host]);
  }

  async putDisk(d: DiskRecord): Promise<void> {
    await this.query(
      `WITH disk AS (
         INSERT INTO disks (host, disk, slot, device, model, serial, protocol, level, predicted_level, probability, horizon_days,
           replace_by, evidence, episode_started, last_reading, updated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (host, disk) DO UPDATE SET slot = excluded.slot, device = excluded.device, model = excluded.model,
           serial = excluded.serial, protocol = excluded.protocol, level = excluded.level, predicted_level = excluded.predicted_level,
           probability = excluded.probability, horizon_days = excluded.horizon_days, replace_by = excluded.replace_by,
           evidence = excluded.evidence, episode_started = excluded.episode_started, last_reading = excluded.last_reading,
           updated = excluded.updated
         WHERE excluded.last_reading >= disks.last_reading
         RETURNING 1
       ) ${touchHost('$1', '$16')}`,
      [
        d.host, d.disk, d.slot, d.device, d.model ?? null, d.serial ?? null, d.protocol ?? null, d.level, d.predictedLevel,
        d.probability, d.horizonDays ?? null, d.replaceBy ?? null, JSON.stringify(d.evidence), d.episodeStarted ?? null,
        d.lastReading, iso(d.updatedMs),
      ],
    );
  }

  async removeDisk(host: string, slot: string, receivedMs: number): Promise<void> {
    await this.query(`WITH gone AS (DELETE FROM disks WHERE host = $1 AND slot = $2 RETURNING 1) ${touchHost('$1', '$3')}`, [host, slot, iso(receivedMs)]);
  }

  async hosts(): Promise<HostRecord[]> {
    const rows = await this.query('SELECT * FROM hosts ORDER BY host');
    return rows.map((r) => ({
      host: r.host,
      state: r.state,
      ...optional({ reason: r.reason, version: r.version, boot: r.boot, started: isoOf(r.started) }),
      lastSeenMs: (r.last_seen as Date).getTime(),
    }));
  }

  async disks(): Promise<DiskRecord[]> {
    const rows = await this.query("SELECT *, to_char(replace_by, 'YYYY-MM-DD') AS replace_by_text FROM disks ORDER BY host, disk");
    return rows.map((r) => ({
      host: r.host,
      disk: r.disk,
      slot: r.slot,
      device: r.device,
      ...optional({
        model: r.model,
        serial: r.serial,
        protocol: r.protocol,
        horizonDays: r.horizon_days,
        replaceBy: r.replace_by_text,
        episodeStarted: isoOf(r.episode_started),
      }),
      level: r.level,
      predictedLevel: r.predicted_level,
      probability: r.probability,
      evidence: parseJson(r.evidence, []),
      lastReading: (r.last_reading as Date).toISOString(),
      updatedMs: (r.updated as Date).getTime(),
    }));
  }

  async events(q: EventQuery): Promise<FleetEvent[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['host', 'disk'] as const) {
      if (q[key] === undefined) continue;
      params.push(q[key]);
      where.push(`${key} = $${params.length}`);
    }
    params.push(q.limit);
    const rows = await this.query(
      `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, received DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      source: r.source,
      id: r.id,
      type: r.type,
      subject: r.subject,
      time: (r.time as Date).toISOString(),
      host: r.host,
      disk: r.disk,
      data: parseJson(r.data, {}),
      receivedMs: (r.received as Date).getTime(),
    }));
  }

  async countEvents(): Promise<number> {
    const rows = await this.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return rows[0]!.n;
  }

  async prune(beforeMs: number): Promise<number> {
    const rows = await this.query<{ n: number }>('WITH gone AS (DELETE FROM events WHERE received < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone', [iso(beforeMs)]);
    return rows[0]!.n;
  }

  async decideGrants(cluster: string, decide: (current: GrantRow[]) => GrantChange[]): Promise<GrantChange[]> {
    if (!this.pool) throw new Error('the fleet store is not open');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      // The cluster's lock, held to COMMIT: another collector deciding the same cluster waits here.
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CLUSTER_LOCK_SPACE, cluster]);
      const { rows } = await client.query('SELECT * FROM drain_grants WHERE cluster = $1 ORDER BY host', [cluster]);
      const changes = decide(rows.map((r) => grantRow(r, dateMs)));
      for (const change of changes) {
        if (change.kind === 'released') await client.query('DELETE FROM drain_grants WHERE host = $1 AND request = $2', [change.row.host, change.row.request]);
        else await client.query(UPSERT_GRANT, grantParams(change.row, iso));
      }
      await client.query('COMMIT');
      return changes;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async grants(): Promise<GrantRow[]> {
    return (await this.query('SELECT * FROM drain_grants ORDER BY host')).map((r) => grantRow(r, dateMs));
  }

  private async query<R extends pg.QueryResultRow = Record<string, any>>(sql: string, params: unknown[] = []): Promise<R[]> {
    if (!this.pool) throw new Error('the fleet store is not open');
    return (await this.pool.query<R>(sql, params)).rows;
  }
}

/** Applies the migrations not yet recorded, one collector at a time. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS fleet_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM fleet_schema');
    for (let v = rows[0]!.v; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query('INSERT INTO fleet_schema (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * node-postgres lets a connection string's (empty) password win over a separate `password`
 * option, so the password from the file goes into the URL, which is never logged.
 */
function dsnWithPassword(dsn: string, password: string | undefined): string {
  if (password === undefined) return dsn;
  const url = new URL(dsn);
  url.password = encodeURIComponent(password);
  return url.toString();
}
