import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import { CONNECT_ERROR_REASONS } from './connect-errors.js';
import type { MqttStatus } from './service.js';

/**
 * MQTT delivery, rendered on every scrape from the publisher's counters. No samples while MQTT is
 * off (no `mqtt.url`), so an alert on `harbinger_mqtt_connected == 0` does not fire on hosts that
 * never publish.
 */
export function registerMqttMetrics(registry: Registry, status: () => MqttStatus | undefined): void {
  const single = (name: string, help: string, type: 'gauge' | 'counter', value: (s: MqttStatus) => number | undefined) =>
    stateFamily(registry, {
      name,
      help,
      type,
      *samples() {
        const s = status();
        const v = s && value(s);
        if (v !== undefined) yield { labels: {}, value: v };
      },
    });
  single('harbinger_mqtt_connected', 'Whether the agent is connected to the MQTT broker (1) or not (0).', 'gauge', (s) => Number(s.connected));
  single('harbinger_mqtt_outbox_events', 'Events in the outbox, not yet acknowledged by the broker.', 'gauge', (s) => s.outboxDepth);
  single('harbinger_mqtt_outbox_durable', 'Whether the outbox is on disk (1) or, the state directory being unusable, in memory only (0).', 'gauge', (s) => Number(!s.outboxVolatile));
  single('harbinger_mqtt_events_published_total', 'Events the broker acknowledged (PUBACK).', 'counter', (s) => s.eventsPublished);
  single('harbinger_mqtt_events_failed_total', 'Event publishes the broker refused or that failed; they stay in the outbox and are retried.', 'counter', (s) => s.eventsFailed);
  single('harbinger_mqtt_events_dropped_total', 'Events dropped from a full outbox (mqtt.outbox.max_events), oldest first.', 'counter', (s) => s.eventsDropped);
  single('harbinger_mqtt_last_publish_timestamp_seconds', 'When the broker last acknowledged an event (Unix time).', 'gauge', (s) =>
    s.lastPublishMs === undefined ? undefined : s.lastPublishMs / 1000,
  );
  stateFamily(registry, {
    name: 'harbinger_mqtt_connection_errors_total',
    help: 'Failed or lost broker connections, by reason (connect, tls, auth, protocol, refused, timeout, lost).',
    type: 'counter',
    labelNames: ['reason'],
    *samples() {
      const s = status();
      if (!s) return;
      for (const reason of CONNECT_ERROR_REASONS) yield { labels: { reason }, value: s.connectErrors[reason] ?? 0 };
    },
  });
}
