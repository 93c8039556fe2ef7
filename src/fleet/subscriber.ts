import mqtt, { type IClientOptions, type ISubscriptionGrant, type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';
import { Backoff, connectionOptions, endClient } from '../mqtt/client.js';
import { classifyConnectError, type ClassifiedError } from '../mqtt/connect-errors.js';
import type { MqttSettings } from '../mqtt/settings.js';
import type { Outcome } from './ingest.js';

/** How long a clean stop waits for the message being stored, then for the DISCONNECT to go out. */
const STOP_WAIT_MS = 1500;
/** Unacknowledged messages the broker may send ahead: they are stored one at a time anyway. */
const RECEIVE_MAXIMUM = 100;
/** MQTT 5 PUBACK reason code: the message is acknowledged, and refused. */
const PAYLOAD_FORMAT_INVALID = 0x99;

export interface SubscriberSettings {
  mqtt: MqttSettings;
  group: string;
  clientId: string;
  sessionExpirySeconds: number;
}

export interface SubscriberDeps {
  logger: Logger;
  /** Stores one message; resolves once committed, rejects when the store failed. */
  handle: (topic: string, payload: Buffer) => Promise<Outcome>;
  now: () => number;
  /** After each connection and subscription (the collector publishes its grants again). */
  onConnected?: () => void;
}

export interface SubscriberStats {
  connected: boolean;
  connectErrors: Record<string, number>;
}

/**
 * The collector's subscriptions: events shared within the group (plain without a group, for
 * brokers that have no shared subscriptions), retained state to every collector.
 */
export function fleetTopics(root: string, group: string): { events: string; status: string; disks: string; balance: string } {
  const events = `${root}/+/events/#`;
  return { events: group ? `$share/${group}/${events}` : events, status: `${root}/+/status`, disks: `${root}/+/disks/+`, balance: `${root}/+/balance` };
}

/**
 * The collector's MQTT 5 connection: a persistent session (clean start off, a session expiry,
 * a stable client id), so what is published while the collector is away waits at the broker.
 * A QoS 1 message is acknowledged (PUBACK, through mqtt.js's customHandleAcks) only once the
 * store has committed it; mqtt.js hands over the next message only after that, so messages are
 * stored one at a time, in order. When the store fails, the message is not acknowledged and the
 * connection is dropped: the broker sends it again when the session reconnects.
 */
export class FleetSubscriber {
  readonly stats: SubscriberStats = { connected: false, connectErrors: {} };
  private client: MqttClient | undefined;
  private generation = 0;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The message being stored, if any: stop() lets it finish and be acknowledged. */
  private inFlight: Promise<unknown> = Promise.resolve();
  /** The first failure of an outage is logged; the rest are counted until it ends. */
  private outage: { since: number; attempts: number } | undefined;
  private storeFailure = false;
  /** Waits between reconnections while the store fails: reset by a successful write, not by a connection. */
  private readonly storeBackoff: Backoff;
  /** 5, or 4 (3.1.1) when configured so or when the broker refused 5 (`mqtt.protocol: auto`). */
  private protocolVersion: 4 | 5;

  constructor(
    private readonly settings: SubscriberSettings,
    private readonly deps: SubscriberDeps,
  ) {
    this.protocolVersion = settings.mqtt.protocol === '3.1.1' ? 4 : 5;
    this.backoff = new Backoff(settings.mqtt.reconnectMaxBackoffMs);
    this.storeBackoff = new Backoff(settings.mqtt.reconnectMaxBackoffMs);
  }

  start(): void {
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await Promise.race([this.inFlight, sleep(STOP_WAIT_MS)]);
    this.generation++;
    this.stats.connected = false;
    if (!client) return;
    // DISCONNECT keeps the session (its expiry was set at connect): messages queue until we return.
    await endClient(client, STOP_WAIT_MS);
  }

  private connect(): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    const { mqtt: s, clientId, sessionExpirySeconds } = this.settings;
    const options: IClientOptions = {
      ...connectionOptions(s),
      protocolVersion: this.protocolVersion,
      clientId,
      // A persistent session. MQTT 3.1.1 has no expiry: the broker keeps it until it is cleaned.
      clean: false,
      ...(this.protocolVersion === 5 ? { properties: { sessionExpiryInterval: sessionExpirySeconds, receiveMaximum: RECEIVE_MAXIMUM } } : {}),
      customHandleAcks: (topic, message, _packet, done) => this.onMessage(generation, topic, message, done),
    };
    const client = mqtt.connect(s.url, options);
    this.client = client;
    if (this.protocolVersion === 4) {
      // mqtt.js offers customHandleAcks to MQTT 5 only. With 3.1.1 the PUBACK goes out when
      // handleMessage calls back, so the store write is awaited there instead.
      client.handleMessage = (packet, callback) => {
        if (packet.cmd !== 'publish' || packet.qos === 0) return callback();
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        this.onMessage(generation, packet.topic, payload, () => callback());
      };
    }
    let failure: ClassifiedError | undefined;
    let connected = false;
    client.on('connect', (connack) => {
      if (generation !== this.generation) return;
      connected = true;
      this.onConnected(client, connack.sessionPresent);
    });
    client.on('error', (err) => {
      if (generation !== this.generation) return;
      failure = classifyConnectError(err, s.url);
    });
    // QoS 1 and 2 come through customHandleAcks; QoS 0 (a hand-made publish) only here. It has
    // no acknowledgement to hold back: stored if the store works, counted if it does not.
    client.on('message', (topic, payload, packet) => {
      if (packet.qos !== 0 || generation !== this.generation) return;
      const work = this.inFlight.then(() => this.deps.handle(topic, payload)).catch(() => {});
      this.inFlight = work;
    });
    client.on('close', () => {
      if (generation !== this.generation) return;
      client.removeAllListeners();
      client.on('error', () => {});
      client.end(true);
      this.generation++;
      this.client = undefined;
      this.stats.connected = false;
      if (this.stopped) return;
      if (this.storeFailure) {
        this.storeFailure = false;
        const delay = this.storeBackoff.next();
        this.reconnectTimer = setTimeout(() => this.connect(), delay);
        return;
      }
      const lost: ClassifiedError = connected
        ? { reason: 'lost', message: `lost the connection to the broker at ${s.url}`, unsupportedProtocol: false }
        : { reason: 'timeout', message: `no answer from the broker at ${s.url} within ${s.connectTimeoutMs} ms`, unsupportedProtocol: false };
      this.onClosed(failure ?? lost, connected);
    });
  }

  private onConnected(client: MqttClient, sessionPresent: boolean): void {
    const { logger } = this.deps;
    const { mqtt: s, group, clientId } = this.settings;
    this.stats.connected = true;
    this.backoff.reset();
    const outage = this.outage;
    this.outage = undefined;
    logger.info(
      { url: s.url, clientId, sessionPresent, ...(outage ? { downForMs: this.deps.now() - outage.since, attempts: outage.attempts } : {}) },
      sessionPresent ? 'connected to the MQTT broker; session resumed' : 'connected to the MQTT broker; new session',
    );
    // Subscribing again on a resumed session changes nothing for the shared one, and has the
    // broker send the retained state again: the store converges on it after every connection.
    const topics = fleetTopics(s.topicRoot, group);
    client.subscribe(
      { [topics.events]: { qos: 1 }, [topics.status]: { qos: 1 }, [topics.disks]: { qos: 1 }, [topics.balance]: { qos: 1 } },
      (err, granted?: ISubscriptionGrant[]) => {
        if (err) {
          logger.error({ err }, 'subscribing failed');
          return;
        }
        for (const grant of granted ?? []) {
          if (grant.qos > 2) logger.error({ topic: grant.topic, reasonCode: grant.qos }, 'the broker refused a subscription (check its ACL for the collector): its messages will not arrive');
        }
        this.deps.onConnected?.();
      },
    );
  }

  /**
   * Publishes a retained message (QoS 1) on the current connection; while disconnected it is
   * dropped, and the caller's state (the store) is what is published again on the next connection.
   */
  publishRetained(topic: string, payload: string): void {
    const client = this.client;
    if (!client || !this.stats.connected) return;
    client.publish(topic, payload, { qos: 1, retain: true, ...(this.protocolVersion === 5 ? { properties: { contentType: 'application/json', payloadFormatIndicator: true } } : {}) }, (err) => {
      if (err) this.deps.logger.warn({ err, topic }, 'publishing a drain answer failed; it is sent again at the host\'s next report');
    });
  }

  private onMessage(generation: number, topic: string, payload: Buffer, done: (error: Error | number, code?: number) => void): void {
    const work = this.deps.handle(topic, payload).then(
      (outcome) => {
        this.storeBackoff.reset();
        if (generation === this.generation) done(outcome === 'invalid' ? PAYLOAD_FORMAT_INVALID : 0);
      },
      () => {
        // Not acknowledged. The broker resends unacknowledged messages only on a new connection
        // of the session, so drop this one; the next attempt comes after the backoff.
        if (generation !== this.generation || !this.client) return;
        this.storeFailure = true;
        this.client.end(true);
      },
    );
    this.inFlight = work;
  }

  private onClosed(failure: ClassifiedError, wasConnected: boolean): void {
    const { logger } = this.deps;
    this.stats.connectErrors[failure.reason] = (this.stats.connectErrors[failure.reason] ?? 0) + 1;
    if (failure.unsupportedProtocol && this.settings.mqtt.protocol === 'auto' && this.protocolVersion === 5) {
      logger.info(
        { url: this.settings.mqtt.url },
        `the broker does not speak MQTT 5: using MQTT 3.1.1 (a session without expiry${this.settings.group ? '; shared subscriptions only if the broker has them' : ''})`,
      );
      this.protocolVersion = 4;
      this.connect();
      return;
    }
    const message = failure.message;
    const delay = this.scheduleReconnect();
    if (!this.outage) {
      this.outage = { since: this.deps.now(), attempts: 1 };
      logger[wasConnected ? 'warn' : 'error']({ reason: failure.reason, retryInMs: delay }, `${message}; messages wait at the broker until the collector is back`);
    } else {
      this.outage.attempts++;
      logger.debug({ reason: failure.reason, retryInMs: delay }, message);
    }
  }

  private scheduleReconnect(): number {
    const delay = this.backoff.next();
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    return delay;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
