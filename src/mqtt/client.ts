import type { IClientOptions, MqttClient } from 'mqtt';
import type { MqttSettings } from './settings.js';

/**
 * What every harbinger MQTT connection shares, agent and collector: credentials, TLS with
 * verification always on, keepalive and connect timeout, and no reconnection by mqtt.js
 * (each side reconnects itself, with backoff and a fresh client).
 */
export function connectionOptions(s: MqttSettings): IClientOptions {
  return {
    keepalive: s.keepaliveSeconds,
    connectTimeout: s.connectTimeoutMs,
    reconnectPeriod: 0,
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.password !== undefined ? { password: s.password } : {}),
    ...(s.tls.ca ? { ca: s.tls.ca } : {}),
    ...(s.tls.cert ? { cert: s.tls.cert } : {}),
    ...(s.tls.key ? { key: s.tls.key } : {}),
    ...(s.tls.serverName ? { servername: s.tls.serverName } : {}),
    rejectUnauthorized: true,
  };
}

/** A clean DISCONNECT, but never a hang on the way out: forced after `waitMs`. */
export function endClient(client: MqttClient, waitMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => client.end(true, {}, () => resolve()), waitMs);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits between attempts: 1 s doubling up to a maximum, with ±20% jitter so a fleet does not retry in step. */
export class Backoff {
  static readonly FIRST_MS = 1000;
  private nextMs = Backoff.FIRST_MS;

  constructor(private readonly maxMs: number) {}

  next(): number {
    const base = this.nextMs;
    this.nextMs = Math.min(this.maxMs, this.nextMs * 2);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.nextMs = Backoff.FIRST_MS;
  }
}
