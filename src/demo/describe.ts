interface EventLike {
  type?: string;
  time?: string;
  source?: string;
  data?: Record<string, any>;
}

const KINDS: Record<string, string> = {
  failure_predicted: 'failure predicted',
  level_changed: 'level changed',
  cleared: 'cleared',
  balance_changed: 'load balancer',
  drain_deferred: 'drain deferred',
};

/** What set a balance_changed event off, as the event's `cause` names it. */
const CAUSES: Record<string, string> = {
  harbinger: "the host's own readings",
  operator: "an operator's override",
  collector: "the collector's answer",
};

// The terminal's own time zone: the demo is watched by a person, not parsed.
const clock = (iso: string | undefined) => (iso ? new Date(iso).toTimeString().slice(0, 8) : '');
const INDENT = '            ';

/** One event as two or three lines a person reads in a terminal. */
export function describeEvent(event: EventLike): string {
  const kind = /\.([a-z_]+)\.v\d+$/.exec(event.type ?? '')?.[1] ?? event.type ?? 'event';
  const time = clock(event.time);
  const host = (event.source ?? '').replace('harbinger://', '');
  const d = event.data ?? {};
  let head: string;
  const details: string[] = [];
  if (kind === 'balance_changed') {
    const weight = (state: string, w: number) => (state === 'up' ? `up ${w}%` : state);
    head = `${weight(d.previous_state, d.previous_weight)} → ${weight(d.state, d.weight)}`;
    const why = [d.cause ? `by ${CAUSES[d.cause] ?? d.cause}` : undefined, d.drain_request?.state ? `drain request ${d.drain_request.state}` : undefined].filter(Boolean);
    if (why.length > 0) head += ` (${why.join('; ')})`;
    details.push(...((d.reasons as string[] | undefined) ?? []).slice(0, 2));
  } else if (kind === 'drain_deferred') {
    const disks = (d.disks as string[] | undefined) ?? [];
    head = `stays in ${d.cluster ? `cluster ${d.cluster}` : 'the pool'} and keeps serving${disks.length > 0 ? ` (disk ${disks.join(', ')})` : ''}`;
    if (d.reason) details.push(d.reason);
  } else {
    head = `${d.device ?? d.disk}: ${d.previous_level} → ${d.level}`;
    if (typeof d.probability === 'number') head += `, ${Math.round(d.probability * 100)}% chance of failure within ${d.horizon_days} days`;
    if (d.replace_by) head += `, replace by ${d.replace_by}`;
    if (d.reason) head += ` (${d.reason})`;
    details.push(...((d.evidence as Array<{ note: string }> | undefined) ?? []).slice(0, 2).map((e) => e.note));
  }
  return [`${time}  ${host}  ${KINDS[kind] ?? kind}: ${head}`, ...details.map((line) => `${INDENT}${line}`), ''].join('\n');
}

/** A collector's answer on `<root>/<host>/grant`, as much of it as the console shows. */
export interface ShownAnswer {
  host: string;
  cluster: string;
  state: string;
  reason: string;
}

/** Reads a retained answer; undefined for an empty payload (the answer was released) or anything else. */
export function parseShownAnswer(payload: string): ShownAnswer | undefined {
  if (payload === '') return undefined;
  try {
    const o = JSON.parse(payload) as Record<string, unknown>;
    if (typeof o.host !== 'string' || typeof o.state !== 'string') return undefined;
    return { host: o.host, cluster: typeof o.cluster === 'string' ? o.cluster : '', state: o.state, reason: typeof o.reason === 'string' ? o.reason : '' };
  } catch {
    return undefined;
  }
}

/**
 * The cluster's drain answers, one line each, the way the collector holds them now:
 *   granted:  demo-db1 — demo-db1's data disk is failing: drain granted
 *   deferred: demo-db2 — demo-db2's data disk is failing, but …
 */
export function describeCluster(cluster: string, answers: readonly ShownAnswer[], nowMs: number): string {
  const time = clock(new Date(nowMs).toISOString());
  const lines = [`${time}  cluster ${cluster}: the collector's answers to drain requests`];
  if (answers.length === 0) lines.push(`${INDENT}none: no host asks to drain`);
  const order = (s: string) => (s === 'granted' ? 0 : s === 'deferred' ? 1 : 2);
  for (const a of [...answers].sort((x, y) => order(x.state) - order(y.state) || x.host.localeCompare(y.host))) {
    lines.push(`${INDENT}${`${a.state}:`.padEnd(10)}${a.host} — ${a.reason}`);
  }
  return [...lines, ''].join('\n');
}
