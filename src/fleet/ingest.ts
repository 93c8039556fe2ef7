import type { Logger } from '../logger.js';
import type { ClusterCoordinator } from './clusters/coordinator.js';
import { MESSAGE_KINDS, parseMessage } from './messages.js';
import type { FleetStore } from './store.js';

/** What became of one message. `invalid` is acknowledged too: sending it again cannot fix it. */
export type Outcome = 'stored' | 'duplicate' | 'state' | 'invalid';

export interface IngestStats {
  /** Valid events handled by this collector: stored, or found already stored. */
  eventsProcessed: number;
  /** Of those, the ones already in the store (a redelivery, or another collector got it first). */
  eventsDeduplicated: number;
  /** Retained status and disk messages applied (including clears). */
  stateUpdates: number;
  invalid: Record<string, number>;
  storeErrors: number;
  /** Whether the last store write succeeded and no read has failed since the last good one. */
  storeUp: boolean;
}

/** Hosts whose first invalid message is logged in one interval; beyond, they are only summed up. */
export const INVALID_LOG_HOSTS = 10;
export const INVALID_LOG_INTERVAL_MS = 60_000;
/** The distinct hosts counted for an interval's summary, at most (memory stays bounded). */
const INVALID_SUMMARY_HOSTS = 1000;

export interface IngestDeps {
  store: FleetStore;
  logger: Logger;
  topicRoot: string;
  now: () => number;
  /** Drain grants for clusters: balance reports and agent status go there too. */
  clusters?: ClusterCoordinator;
}

/**
 * One message in, one committed store write out. A store failure is thrown (so the message is
 * not acknowledged and the broker sends it again); a bad payload is counted, never thrown, and
 * logged: the first one of a host in an interval while fewer than INVALID_LOG_HOSTS hosts were
 * logged in it, the rest summed up in one line when the interval has passed.
 */
export class Ingest {
  readonly stats: IngestStats = {
    eventsProcessed: 0,
    eventsDeduplicated: 0,
    stateUpdates: 0,
    invalid: Object.fromEntries([...MESSAGE_KINDS, 'topic'].map((k) => [k, 0])),
    storeErrors: 0,
    storeUp: true,
  };
  /** Hosts whose invalid message was logged in this interval; cleared each interval. */
  private invalidLogged = new Set<string>();
  /** Invalid messages of this interval not logged, and their hosts (up to INVALID_SUMMARY_HOSTS). */
  private invalidUnlogged = 0;
  private invalidUnloggedHosts = new Set<string>();
  private invalidIntervalStart: number | undefined;
  /** The last write's outcome: kept while no message comes (no write, nothing new to say). */
  private writeFailing = false;
  /** A read failed, and none has succeeded since: a store that cannot be read is down too. */
  private readFailing = false;

  constructor(private readonly deps: IngestDeps) {}

  async handle(topic: string, payload: Buffer): Promise<Outcome> {
    const { store } = this.deps;
    const now = this.deps.now();
    this.rollInvalidInterval(now);
    const parsed = parseMessage(this.deps.topicRoot, topic, payload, now);
    if (parsed.kind === 'invalid') {
      this.stats.invalid[parsed.messageKind] = (this.stats.invalid[parsed.messageKind] ?? 0) + 1;
      this.logInvalid(parsed.host, topic, parsed.reason, now);
      return 'invalid';
    }
    try {
      let outcome: Outcome = 'state';
      switch (parsed.kind) {
        case 'event':
          outcome = (await store.addEvent(parsed.event)) ? 'stored' : 'duplicate';
          break;
        case 'status':
          await store.putStatus(parsed.status);
          await this.deps.clusters?.onStatus(parsed.status.host, parsed.status.state === 'online');
          break;
        case 'host-cleared':
          await store.removeHost(parsed.host);
          await this.deps.clusters?.onHostRemoved(parsed.host);
          break;
        case 'balance':
          await this.deps.clusters?.onReport(parsed.host, parsed.report, this.deps.now());
          break;
        case 'disk':
          await store.putDisk(parsed.disk);
          break;
        case 'disk-cleared':
          await store.removeDisk(parsed.host, parsed.slot, this.deps.now());
          break;
      }
      this.writeSucceeded();
      if (outcome === 'state') this.stats.stateUpdates++;
      else {
        this.stats.eventsProcessed++;
        if (outcome === 'duplicate') this.stats.eventsDeduplicated++;
      }
      if (parsed.kind === 'event') {
        this.deps.logger.debug({ source: parsed.event.source, id: parsed.event.id, type: parsed.event.type, outcome }, 'event received');
      }
      return outcome;
    } catch (err) {
      this.storeFailed(err, 'write');
      throw err;
    }
  }

  /**
   * Ends the invalid-message interval once it has passed: one summary line for what was not
   * logged in it, and the logged hosts forgotten. Called with every message; the service may call
   * it on a timer too, so a summary comes when messages stop.
   */
  rollInvalidInterval(now: number = this.deps.now()): void {
    if (this.invalidIntervalStart === undefined || now - this.invalidIntervalStart < INVALID_LOG_INTERVAL_MS) return;
    if (this.invalidUnlogged > 0) {
      const hosts = this.invalidUnloggedHosts.size;
      const atLeast = hosts >= INVALID_SUMMARY_HOSTS ? 'at least ' : '';
      this.deps.logger.warn(
        { messages: this.invalidUnlogged, hosts, intervalMs: now - this.invalidIntervalStart },
        `${this.invalidUnlogged} more invalid messages from ${atLeast}${hosts} hosts in the last minute; see harbinger_fleet_invalid_messages_total`,
      );
    }
    this.invalidIntervalStart = undefined;
    this.invalidLogged = new Set();
    this.invalidUnlogged = 0;
    this.invalidUnloggedHosts = new Set();
  }

  private logInvalid(host: string, topic: string, reason: string, now: number): void {
    this.invalidIntervalStart ??= now;
    if (this.invalidLogged.has(host)) {
      this.invalidUnlogged++; // already said this interval: only counted, and not in the summary's hosts
      return;
    }
    if (this.invalidLogged.size >= INVALID_LOG_HOSTS) {
      this.invalidUnlogged++;
      if (this.invalidUnloggedHosts.size < INVALID_SUMMARY_HOSTS) this.invalidUnloggedHosts.add(host);
      return;
    }
    this.invalidLogged.add(host);
    this.deps.logger.warn(
      { host: host || undefined, topic, reason },
      'invalid message ignored (further invalid messages from this host are only counted for a minute: harbinger_fleet_invalid_messages_total)',
    );
  }

  /**
   * A store read's outcome (pages, scrapes, the clusters' republish). A failure marks the store
   * down; a success clears only a read failure, never a failed write: only a write that succeeds
   * says the store works again (a full disk still reads).
   */
  storeRead(err?: unknown): void {
    if (err !== undefined) {
      this.storeFailed(err, 'read');
      return;
    }
    if (!this.readFailing) return;
    this.readFailing = false;
    this.updateUp();
    this.deps.logger.info('the fleet store can be read again');
  }

  /** A store write that succeeded (a message stored, old events pruned). */
  writeSucceeded(): void {
    const wasFailing = this.writeFailing;
    this.writeFailing = false;
    this.updateUp();
    if (wasFailing) this.deps.logger.info('the fleet store works again');
  }

  storeFailed(err: unknown, during: 'write' | 'read' = 'write'): void {
    this.stats.storeErrors++;
    const alreadyFailing = this.writeFailing || this.readFailing;
    if (during === 'write') this.writeFailing = true;
    else this.readFailing = true;
    this.updateUp();
    if (alreadyFailing) return;
    this.deps.logger.error(
      { err, during },
      during === 'write'
        ? 'cannot write to the fleet store; messages are not acknowledged, so the broker sends them again once it works'
        : 'cannot read the fleet store',
    );
  }

  private updateUp(): void {
    this.stats.storeUp = !this.writeFailing && !this.readFailing;
  }
}
