import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import { Backoff, connectionOptions, endClient } from './client.js';
import { classifyConnectError, type ClassifiedError } from './connect-errors.js';
import { EVENT_CONTENT_TYPE } from './events.js';
import type { Outbox } from './outbox.js';
import type { MqttSettings } from './settings.js';

/** Events handed to the client before any is acknowledged, unless the broker allows fewer. */
const MAX_IN_FLIGHT = 1000;
/** Acknowledged events are deleted in batches: one fsync per batch, not per event. */
const ACK_FLUSH_MS = 20;
const ACK_FLUSH_BATCH = 500;
/** How long a clean stop waits for the broker to acknowledge the `offline` status. */
const OFFLINE_ACK_MS = 1500;

export interface PublisherStats {
  connected: boolean;
  /** 5 or 4 (3.1.1) once connected. */
  protocolVersion?: number;
  eventsPublished: number;
  /** Publishes the broker refused (PUBACK error) or that failed on the wire; they stay in the outbox. */
  eventsFailed: number;
  eventsDropped: number;
  lastPublishMs?: number;
  connectErrors: Record<string, number>;
}

export interface PublisherDeps {
  outbox: Outbox;
  logger: Logger;
  /** The retained `offline` status and Last Will payloads. */
  statusPayload: (state: 'online' | 'offline', reason?: string) => string;
  statusTopic: string;
  now: () => number;
}

/**
 * The one MQTT connection. Events leave the outbox in order; a fresh client is made for every
 * connection, and each connection starts again from the oldest unacknowledged event, so order per
 * disk holds across outages and a re-sent event is the same event with the same id.
 */
export class MqttPublisher {
  readonly stats: PublisherStats = { connected: false, eventsPublished: 0, eventsFailed: 0, eventsDropped: 0, connectErrors: {} };
  private client: MqttClient | undefined;
  private generation = 0;
  private protocolVersion: 4 | 5;
  private cursor = 0;
  private inFlight = 0;
  private window = MAX_IN_FLIGHT;
  private acked: number[] = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  /** The first failure of an outage is logged; the rest are counted until it ends. */
  private outage: { since: number; attempts: number } | undefined;
  private overflowLogged = false;
  private publishErrorLogged = false;
  private retainedWriteFailing = false;
  private stopped = false;
  /** What the broker should retain: topic → payload ('' = clear). Re-sent on every connection. */
  private readonly retained = new Map<string, string>();
  /** Topics this agent reads (its drain answer), subscribed on every connection (a clean session). */
  private readonly subscriptions = new Map<string, (payload: string) => void>();

  constructor(
    private readonly settings: MqttSettings,
    private readonly deps: PublisherDeps,
  ) {
    this.protocolVersion = settings.protocol === '3.1.1' ? 4 : 5;
    this.backoff = new Backoff(settings.reconnectMaxBackoffMs);
  }

  /** Picks up what the broker should retain (saved by the last run), then connects. */
  start(): void {
    for (const entry of this.deps.outbox.retained()) if (!this.retained.has(entry.topic)) this.retained.set(entry.topic, entry.payload);
    this.connect();
  }

  /** New events are in the outbox: send them if connected. */
  kick(): void {
    this.drain();
  }

  /** Past the outbox bound: counted, and logged once until the outbox has room again. */
  noteDropped(count: number): void {
    if (count <= 0) return;
    this.stats.eventsDropped += count;
    if (!this.overflowLogged) {
      this.overflowLogged = true;
      this.deps.logger.error(
        { maxEvents: this.settings.outboxMaxEvents, dropped: count },
        'MQTT outbox full: dropping the oldest events (raise mqtt.outbox.max_events, or bring the broker back)',
      );
    }
  }

  /**
   * Sets the retained message of a topic ('' clears it). `durable`: the outbox remembers it, so it
   * is owed to the broker across restarts; a mere refresh (a newer reading time) is not written.
   */
  setRetained(topic: string, payload: string, durable: boolean): void {
    this.retained.set(topic, payload);
    if (durable) this.remember(() => this.deps.outbox.setRetained(topic, payload));
    if (this.stats.connected) this.publishRetained(topic, payload);
  }

  /** A newer payload to send on the next connection, without publishing now or writing it down. */
  refreshRetained(topic: string, payload: string): void {
    if (this.retained.has(topic)) this.retained.set(topic, payload);
  }

  depth(): number {
    return this.deps.outbox.depth();
  }

  /**
   * Reads one topic (exact, no wildcards): subscribed at once when connected and again on every
   * connection, so its retained message arrives after each reconnect.
   */
  listen(topic: string, handler: (payload: string) => void): void {
    this.subscriptions.set(topic, handler);
    if (this.stats.connected) this.subscribe(topic);
  }

  private subscribe(topic: string): void {
    this.client?.subscribe(topic, { qos: 1 }, (err, granted) => {
      if (err) this.deps.logger.error({ err, topic }, 'subscribing failed');
      else if ((granted?.[0]?.qos ?? 0) > 2) this.deps.logger.error({ topic }, 'the broker refused the subscription (check its ACL: the agent must read its own grant topic)');
    });
  }

  /** Clean shutdown: a retained `offline` (the Will is for crashes), then disconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    if (client && this.stats.connected) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, OFFLINE_ACK_MS);
        client.publish(this.deps.statusTopic, this.deps.statusPayload('offline', 'shutdown'), this.retainOptions(), () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.generation++;
    this.flushAcks();
    this.stats.connected = false;
    // A clean DISCONNECT, so the broker does not send the Will.
    if (client) await endClient(client, OFFLINE_ACK_MS);
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const s = this.settings;
    const options: IClientOptions = {
      ...connectionOptions(s),
      protocolVersion: this.protocolVersion,
      clientId: s.clientId,
      clean: true,
      will: { topic: this.deps.statusTopic, payload: Buffer.from(this.deps.statusPayload('offline', 'connection lost')), qos: 1, retain: true },
    };
    if (this.protocolVersion === 5 && options.will) options.will.properties = { contentType: 'application/json', payloadFormatIndicator: true };
    const client = mqtt.connect(s.url, options);
    this.client = client;
    let failure: ClassifiedError | undefined;
    let connected = false;
    client.on('connect', (connack) => {
      if (generation !== this.generation) return;
      connected = true;
      this.onConnected(client, connack.properties?.receiveMaximum);
    });
    client.on('error', (err) => {
      if (generation !== this.generation) return;
      failure = classifyConnectError(err, s.url);
    });
    client.on('message', (topic, payload) => {
      if (generation !== this.generation) return;
      this.subscriptions.get(topic)?.(payload.toString('utf8'));
    });
    client.on('close', () => {
      if (generation !== this.generation) return;
      client.removeAllListeners();
      client.on('error', () => {});
      client.end(true);
      const lost: ClassifiedError = connected
        ? { reason: 'lost', message: `lost the connection to the broker at ${s.url}`, unsupportedProtocol: false }
        : { reason: 'timeout', message: `no answer from the broker at ${s.url} within ${s.connectTimeoutMs} ms`, unsupportedProtocol: false };
      this.onClosed(failure ?? lost, connected);
    });
  }

  private onConnected(client: MqttClient, receiveMaximum: number | undefined): void {
    const { logger } = this.deps;
    this.stats.connected = true;
    this.stats.protocolVersion = this.protocolVersion;
    this.backoff.reset();
    const outage = this.outage;
    this.outage = undefined;
    logger.info(
      { url: this.settings.url, protocol: this.protocolVersion === 5 ? '5' : '3.1.1', outbox: this.depth(), ...(outage ? { downForMs: this.deps.now() - outage.since, attempts: outage.attempts } : {}) },
      'connected to the MQTT broker',
    );
    this.window = Math.min(MAX_IN_FLIGHT, receiveMaximum ?? MAX_IN_FLIGHT);
    client.publish(this.deps.statusTopic, this.deps.statusPayload('online'), this.retainOptions());
    for (const [topic, payload] of this.retained) this.publishRetained(topic, payload);
    for (const topic of this.subscriptions.keys()) this.subscribe(topic);
    this.cursor = 0;
    this.inFlight = 0;
    this.drain();
  }

  private onClosed(failure: ClassifiedError, wasConnected: boolean): void {
    const { logger } = this.deps;
    this.stats.connected = false;
    this.flushAcks();
    if (this.stopped) return;
    this.stats.connectErrors[failure.reason] = (this.stats.connectErrors[failure.reason] ?? 0) + 1;
    if (failure.unsupportedProtocol && this.settings.protocol === 'auto' && this.protocolVersion === 5) {
      logger.info({ url: this.settings.url }, 'the broker does not speak MQTT 5: using MQTT 3.1.1');
      this.protocolVersion = 4;
      this.connect();
      return;
    }
    const delay = this.backoff.next();
    if (!this.outage) {
      this.outage = { since: this.deps.now(), attempts: 1 };
      logger[wasConnected ? 'warn' : 'error'](
        { reason: failure.reason, retryInMs: delay, outbox: this.depth() },
        `${failure.message}; events wait in the outbox and are sent once it is back (retrying with backoff up to ${this.settings.reconnectMaxBackoffMs / 1000}s)`,
      );
    } else {
      this.outage.attempts++;
      logger.debug({ reason: failure.reason, retryInMs: delay }, failure.message);
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private retainOptions(): IClientPublishOptions {
    return {
      qos: 1,
      retain: true,
      ...(this.protocolVersion === 5 ? { properties: { contentType: 'application/json', payloadFormatIndicator: true } } : {}),
    };
  }

  private publishRetained(topic: string, payload: string): void {
    const client = this.client;
    if (!client) return;
    const generation = this.generation;
    client.publish(topic, payload, this.retainOptions(), (err) => {
      if (err || generation !== this.generation || payload !== '') return;
      // A clear the broker has taken: forget the topic, unless it was set again meanwhile.
      if (this.retained.get(topic) === '') this.retained.delete(topic);
      this.remember(() => this.deps.outbox.clearedRetained(topic));
    });
  }

  /** Hands events to the client in outbox order, at most `window` unacknowledged at a time. */
  private drain(): void {
    const client = this.client;
    if (!client || !this.stats.connected) return;
    const generation = this.generation;
    const options: IClientPublishOptions = {
      qos: 1,
      ...(this.protocolVersion === 5 ? { properties: { contentType: EVENT_CONTENT_TYPE, payloadFormatIndicator: true } } : {}),
    };
    while (this.inFlight < this.window) {
      const batch = this.deps.outbox.after(this.cursor, this.window - this.inFlight);
      if (batch.length === 0) break;
      for (const event of batch) {
        this.cursor = event.seq;
        this.inFlight++;
        client.publish(event.topic, event.payload, options, (err) => {
          if (generation !== this.generation) return;
          this.inFlight--;
          if (err) this.onPublishError(event.id, err);
          else this.onAck(event.seq);
          this.drain();
        });
      }
    }
    if (this.inFlight === 0 && this.depth() < this.settings.outboxMaxEvents) this.overflowLogged = false;
  }

  private onAck(seq: number): void {
    this.stats.eventsPublished++;
    this.stats.lastPublishMs = this.deps.now();
    this.acked.push(seq);
    if (this.acked.length >= ACK_FLUSH_BATCH) this.flushAcks();
    else this.ackTimer ??= setTimeout(() => this.flushAcks(), ACK_FLUSH_MS);
  }

  /** The broker refused one event (MQTT 5 PUBACK reason): it stays in the outbox for the next connection. */
  private onPublishError(id: string, err: Error): void {
    this.stats.eventsFailed++;
    if (!this.publishErrorLogged) {
      this.publishErrorLogged = true;
      this.deps.logger.error({ err, id }, 'the broker refused an event (check its ACL for the events topic); it stays in the outbox and is retried on the next connection');
    }
  }

  /**
   * Writes down what the broker should retain. Failing (a full disk) only costs durability across
   * a restart: the state is still published from memory. Logged once until a write succeeds.
   */
  private remember(write: () => void): void {
    try {
      write();
      this.retainedWriteFailing = false;
    } catch (err) {
      if (!this.retainedWriteFailing) {
        this.retainedWriteFailing = true;
        this.deps.logger.error({ err }, 'cannot save the retained disk state in the state directory (is it full?); it is still published, but not remembered across a restart');
      }
    }
  }

  private flushAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const seqs = this.acked;
    this.acked = [];
    try {
      this.deps.outbox.acknowledge(seqs);
    } catch (err) {
      // The events were delivered; failing to forget them only means they are sent again (same ids).
      this.deps.logger.error({ err }, 'cannot remove delivered events from the outbox; they will be sent again after a restart');
    }
  }
}

