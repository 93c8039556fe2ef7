/**
 * What the members left in a cluster's pool would carry if one of them dropped out. The load
 * balancer shares load by weight, and a member's weight is its capacity (`balance.capacity`), so
 * the lost member's work, u_k·w_k in capacity units, spreads over the others in proportion to
 * their capacity, and each remaining member i gains u_k·w_k / W (W: the remaining capacity) on
 * top of its own utilisation u_i. Connections spread the same way: c_i + c_k·w_i / W against
 * the member's max_connections.
 */

export interface PoolMember {
  host: string;
  /** Relative capacity, above 0. */
  capacity: number;
  /** CPU utilisation 0–1; undefined when the member reports none. */
  cpu: number | undefined;
  /** Client connections and max_connections of its databases, where read. */
  connections?: { used: number; max: number };
}

export interface ProjectedMember {
  host: string;
  cpu: number | undefined;
  /** Projected connections as a share of max_connections, where read. */
  connections?: number;
  /** The larger of the two: how full the member would be. */
  ratio: number | undefined;
}

export interface LossProjection {
  /** The member that drops out (with any others already on their way out: `projectLoss`'s alsoLeaving). */
  lost: string;
  /**
   * The fullest remaining member's projected ratio; Infinity when none would be left; undefined
   * when a remaining member's (or the lost one's) CPU is unknown.
   */
  ratio: number | undefined;
  members: ProjectedMember[];
  /** Members without a CPU reading, which make the figure unknown. */
  unknown: string[];
}

export function projectLoss(pool: readonly PoolMember[], lost: string, alsoLeaving: readonly string[] = []): LossProjection {
  const leaving = new Set([lost, ...alsoLeaving]);
  const goneMembers = pool.filter((m) => leaving.has(m.host));
  const rest = pool.filter((m) => !leaving.has(m.host));
  const unknown = [...goneMembers, ...rest].filter((m) => m.cpu === undefined).map((m) => m.host);
  if (rest.length === 0) return { lost, ratio: Infinity, members: [], unknown };
  const capacity = rest.reduce((sum, m) => sum + m.capacity, 0);
  // The work of every member leaving, in capacity units, spread over the remaining capacity.
  const goneUnknown = goneMembers.some((m) => m.cpu === undefined);
  const movedCpu = goneUnknown ? undefined : goneMembers.reduce((sum, m) => sum + (m.cpu as number) * m.capacity, 0) / capacity;
  const movedConnections = goneMembers.reduce((sum, m) => sum + (m.connections?.used ?? 0), 0);
  const members = rest.map((m): ProjectedMember => {
    const cpu = m.cpu === undefined || movedCpu === undefined ? undefined : m.cpu + movedCpu;
    const connections = m.connections && m.connections.max > 0 ? (m.connections.used + (movedConnections * m.capacity) / capacity) / m.connections.max : undefined;
    const ratio = cpu === undefined ? undefined : Math.max(cpu, connections ?? 0);
    return { host: m.host, cpu, ...(connections !== undefined ? { connections } : {}), ratio };
  });
  const ratio = members.some((m) => m.ratio === undefined) ? undefined : Math.max(...members.map((m) => m.ratio as number));
  return { lost, ratio, members, unknown };
}

export interface Headroom {
  /** The worst loss's ratio (see LossProjection.ratio); undefined for an empty pool or an unknown figure. */
  ratio: number | undefined;
  /** The member whose loss would hurt most, and what the others would carry without it. */
  worst?: LossProjection;
}

/**
 * The cluster's failover figure: the fullest any remaining member would be after the loss of
 * the member that hurts most. That is the busiest one when the members are alike; with weighted
 * members losing a large one can be worse than losing the busiest, so every loss is tried.
 */
export function failoverHeadroom(pool: readonly PoolMember[]): Headroom {
  if (pool.length === 0) return { ratio: undefined };
  let worst: LossProjection | undefined;
  for (const m of pool) {
    const p = projectLoss(pool, m.host);
    if (p.ratio === undefined) return { ratio: undefined, worst: p };
    if (!worst || (p.ratio as number) > (worst.ratio as number)) worst = p;
  }
  return { ratio: worst!.ratio, worst: worst! };
}
