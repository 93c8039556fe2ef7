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
};

/** One event as two or three lines a person reads in a terminal. */
export function describeEvent(event: EventLike): string {
  const kind = /\.([a-z_]+)\.v\d+$/.exec(event.type ?? '')?.[1] ?? event.type ?? 'event';
  // The terminal's own time zone: the demo is watched by a person, not parsed.
  const time = event.time ? new Date(event.time).toTimeString().slice(0, 8) : '';
  const host = (event.source ?? '').replace('harbinger://', '');
  const d = event.data ?? {};
  let head: string;
  const details: string[] = [];
  if (kind === 'balance_changed') {
    const weight = (state: string, w: number) => (state === 'up' ? `up ${w}%` : state);
    head = `${weight(d.previous_state, d.previous_weight)} → ${weight(d.state, d.weight)}`;
    details.push(...((d.reasons as string[] | undefined) ?? []).slice(0, 2));
  } else {
    head = `${d.device ?? d.disk}: ${d.previous_level} → ${d.level}`;
    if (typeof d.probability === 'number') head += `, ${Math.round(d.probability * 100)}% chance of failure within ${d.horizon_days} days`;
    if (d.replace_by) head += `, replace by ${d.replace_by}`;
    if (d.reason) head += ` (${d.reason})`;
    details.push(...((d.evidence as Array<{ note: string }> | undefined) ?? []).slice(0, 2).map((e) => e.note));
  }
  return [`${time}  ${host}  ${KINDS[kind] ?? kind}: ${head}`, ...details.map((line) => `            ${line}`), ''].join('\n');
}
