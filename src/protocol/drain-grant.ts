import { fail, iso, jsonObject, oneOf, optionalTime, text, time } from './fields.js';
import { ANSWER_STATES, type AnswerState } from './balance-report.js';

/**
 * `<root>/<host>/grant`, retained, QoS 1, published by a collector
 * (docs/schemas/drain-grant.schema.json): its answer to the host's drain request. `granted`: the
 * host may drain; `deferred`: it stays in the pool, and why. An empty retained message: no answer
 * (the request ended, or the grant was released). Only collectors may publish here (broker ACL).
 */
export interface DrainAnswer {
  host: string;
  cluster: string;
  /** The request id this answers: an answer to another request is not acted on. */
  request: string;
  state: AnswerState;
  reason: string;
  decidedMs: number;
  /** Granted only: until when the grant holds unless the host renews it (each report renews it). */
  leaseExpiresMs?: number;
  /** The collector's client id. */
  collector: string;
}

export const grantTopic = (root: string, host: string) => `${root}/${host}/grant`;

export function drainAnswerJson(a: DrainAnswer): object {
  return {
    host: a.host,
    cluster: a.cluster,
    request: a.request,
    state: a.state,
    reason: a.reason,
    decided: iso(a.decidedMs),
    lease_expires: a.leaseExpiresMs === undefined ? null : iso(a.leaseExpiresMs),
    collector: a.collector,
  };
}

/** Parses an answer as the agent receives it; throws PayloadError for anything not an answer to `host`. */
export function parseDrainAnswer(host: string, payload: string): DrainAnswer {
  const o = jsonObject(payload);
  if (o.host !== host) fail(`host ${JSON.stringify(o.host)} is not this host (${host})`);
  const state = oneOf(o, 'state', ANSWER_STATES);
  const lease = optionalTime(o, 'lease_expires');
  return {
    host,
    cluster: text(o, 'cluster', 200),
    request: text(o, 'request', 64),
    state,
    reason: text(o, 'reason', 2000),
    decidedMs: time(o, 'decided'),
    ...(state === 'granted' && lease !== undefined ? { leaseExpiresMs: lease } : {}),
    collector: text(o, 'collector', 200),
  };
}
