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
  /** Whether the last store write succeeded. */
  storeUp: boolean;
}

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
 * not acknowledged and the broker sends it again); a bad payload is counted and logged once per
 * host, never thrown.
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
  /** Hosts whose invalid messages were logged: the first one each, then they are only counted. */
  private readonly invalidLogged = new Set<string>();
  private storeFailing = false;

  constructor(private readonly deps: IngestDeps) {}

  async handle(topic: string, payload: Buffer): Promise<Outcome> {
    const { store } = this.deps;
    const parsed = parseMessage(this.deps.topicRoot, topic, payload, this.deps.now());
    if (parsed.kind === 'invalid') {
      this.stats.invalid[parsed.messageKind] = (this.stats.invalid[parsed.messageKind] ?? 0) + 1;
      if (!this.invalidLogged.has(parsed.host)) {
        this.invalidLogged.add(parsed.host);
        this.deps.logger.warn(
          { host: parsed.host || undefined, topic, reason: parsed.reason },
          'invalid message ignored (further invalid messages from this host are only counted: harbinger_fleet_invalid_messages_total)',
        );
      }
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
      this.storeOk();
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
      this.storeFailed(err);
      throw err;
    }
  }

  /** Store health, from every store call: messages written here, and the reads of pages and scrapes. */
  storeOk(): void {
    this.stats.storeUp = true;
    if (this.storeFailing) {
      this.storeFailing = false;
      this.deps.logger.info('the fleet store works again');
    }
  }

  storeFailed(err: unknown, during: 'write' | 'read' = 'write'): void {
    this.stats.storeErrors++;
    this.stats.storeUp = false;
    if (this.storeFailing) return;
    this.storeFailing = true;
    this.deps.logger.error(
      { err, during },
      during === 'write'
        ? 'cannot write to the fleet store; messages are not acknowledged, so the broker sends them again once it works'
        : 'cannot read the fleet store',
    );
  }
}
