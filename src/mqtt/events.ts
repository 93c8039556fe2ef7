import { createHash } from 'node:crypto';
import { CloudEvent } from 'cloudevents';

/** Reverse-DNS prefix of every CloudEvents `type` harbinger emits. */
export const EVENT_TYPE_PREFIX = 'io.harbinger';
export const EVENT_CONTENT_TYPE = 'application/cloudevents+json';

/** An event ready for the outbox: where it goes, and its serialised CloudEvent. */
export interface OutgoingEvent {
  id: string;
  /** `<root>/<host>/events/<kind>`. */
  topic: string;
  /** The CloudEvent in structured JSON mode. */
  payload: string;
  /** The disk (or `host`), to keep per-subject order visible in logs and tests. */
  subject: string;
}

export interface EventSpec {
  /** Topic segment and CloudEvents type part: `failure_predicted`, `level_changed`, `cleared`. */
  kind: string;
  /** `disk` or `host`: the middle of the type, `io.harbinger.<scope>.<kind>.v1`. */
  scope: 'disk' | 'host';
  host: string;
  subject: string;
  /**
   * What makes this event this event and no other: (host, subject, kind, episode, step). The id is
   * derived from it alone, so the same decision re-sent after a crash carries the same id.
   */
  identity: readonly (string | number)[];
  timeMs: number;
  data: Record<string, unknown>;
}

/** A deterministic CloudEvents id: 32 hex digits of SHA-256 over the event's identity. */
export function eventId(host: string, subject: string, kind: string, identity: readonly (string | number)[]): string {
  return createHash('sha256').update(JSON.stringify([host, subject, kind, ...identity])).digest('hex').slice(0, 32);
}

export const eventType = (scope: string, kind: string) => `${EVENT_TYPE_PREFIX}.${scope}.${kind}.v1`;

/**
 * Builds a CloudEvents 1.0 event (the library validates the context attributes) and serialises it
 * in structured mode: one JSON object with the attributes and `data`.
 */
export function buildEvent(topicRoot: string, spec: EventSpec): OutgoingEvent {
  const id = eventId(spec.host, spec.subject, spec.kind, spec.identity);
  const event = new CloudEvent({
    specversion: '1.0',
    id,
    source: `harbinger://${spec.host}`,
    type: eventType(spec.scope, spec.kind),
    subject: spec.subject,
    time: new Date(spec.timeMs).toISOString(),
    datacontenttype: 'application/json',
    data: spec.data,
  });
  return {
    id,
    topic: `${topicRoot}/${spec.host}/events/${spec.kind}`,
    payload: JSON.stringify(event),
    subject: spec.subject,
  };
}

/**
 * A disk id as one topic level: MQTT forbids nothing but wildcards and `/` breaks the hierarchy,
 * so those (and anything outside a safe set) become `_`. Ids are WWNs or model_serial already.
 */
export function topicSegment(id: string): string {
  return id.replace(/[^A-Za-z0-9._;:-]/g, '_');
}
