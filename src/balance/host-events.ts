import type { BalanceCause } from './balancer.js';
import type { DrainView } from './drain-request.js';
import { overrideJson } from './override.js';
import type { BalanceStatus } from './service.js';

/** A host event for the outbox: its kind, what makes it this event (its id), and its data. */
export interface HostEvent {
  kind: string;
  identity: ReadonlyArray<string | number>;
  data: Record<string, unknown>;
}

/** `balance_changed`: the decision (or the operator's override) changed; with the drain request behind it, if any. */
export function balanceChanged(status: BalanceStatus, previous: BalanceStatus, cause: BalanceCause, drain: DrainView): HostEvent {
  const request = drain.request && drain.state ? { cluster: drain.cluster ?? null, drain_request: { id: drain.request.id, state: drain.state, verdict: drain.request.verdict } } : {};
  return {
    kind: 'balance_changed',
    identity: [status.sinceMs, status.state, status.weight, status.override?.mode ?? 'none'],
    data: {
      state: status.state,
      weight: status.weight,
      previous_state: previous.state,
      previous_weight: previous.weight,
      reasons: status.reasons,
      since: new Date(status.sinceMs).toISOString(),
      cause,
      override: overrideJson(status.override),
      ...request,
    },
  };
}

/** `drain_deferred`: the collector deferred this host's drain; once per request (its id is the request's). */
export function drainDeferred(drain: DrainView): HostEvent | undefined {
  const { request, answer } = drain;
  if (!request || answer?.state !== 'deferred') return undefined;
  return {
    kind: 'drain_deferred',
    identity: [request.id],
    data: {
      cluster: drain.cluster ?? null,
      request: request.id,
      reason: answer.reason,
      verdict: request.verdict,
      disks: request.disks,
      deferred_at: new Date(answer.decidedMs).toISOString(),
      collector: answer.collector,
    },
  };
}
