import type { Override } from './override.js';
import type { BalanceDecision } from './policy.js';

/** "by root until 2026-12-04T08:00:00.000Z: replacing sdb" */
export function describeOverride(override: Override): string {
  const until = override.untilMs === undefined ? '' : ` until ${new Date(override.untilMs).toISOString()}`;
  return `by ${override.by}${until}: ${override.reason}`;
}

/**
 * The operator's word over harbinger's own decision. A hold keeps the host up at full weight
 * and a drain drains it, whatever the disks and pressure say; a database that does not answer
 * still takes the host down under either, since no operator can make it serve. The decision's
 * own reasons follow the operator's, so what the override hides stays visible.
 */
export function withOverride(decision: BalanceDecision, override: Override | undefined): BalanceDecision {
  if (!override) return decision;
  if (decision.state === 'down') {
    return { ...decision, reasons: [...decision.reasons, `the operator's ${override.mode} (${describeOverride(override)}) does not keep a database that does not answer in the pool`] };
  }
  const own = decision.reasons.map((r) => `overridden: ${r}`);
  if (override.mode === 'hold') return { state: 'up', weight: 100, reasons: [`operator hold ${describeOverride(override)}`, ...own] };
  return { state: 'drain', weight: 0, reasons: [`operator drain ${describeOverride(override)}`, ...own] };
}
