import type { RiskLevel } from '../predict/types.js';

export type { RiskLevel };
export type HostState = 'online' | 'offline' | 'unknown';
export const HOST_STATES: readonly HostState[] = ['online', 'offline', 'unknown'];

/** One piece of evidence as the agents publish it (docs/schemas/common.schema.json). */
export interface Evidence {
  signal: string;
  value: number | boolean;
  note: string;
  change_7d?: number;
  change_30d?: number;
  threshold?: number;
  weight?: number;
}

/** A host's retained status (`<root>/<host>/status`), as stored. */
export interface HostStatus {
  host: string;
  state: 'online' | 'offline';
  /** Only with offline: `shutdown` or `connection lost` (the Will). */
  reason?: string;
  version?: string;
  boot?: number;
  /** ISO timestamp: when this run of the agent started. */
  started?: string;
  receivedMs: number;
}

/** A host in the fleet: its last status, or `unknown` when only its disks or events were seen. */
export interface HostRecord {
  host: string;
  state: HostState;
  reason?: string;
  version?: string;
  boot?: number;
  started?: string;
  /** When the collector last received anything from the host. */
  lastSeenMs: number;
}

/** A disk's retained state (`<root>/<host>/disks/<disk>`), as stored. */
export interface DiskRecord {
  host: string;
  disk: string;
  /** The disk's topic level (the id made topic-safe): what an empty retained message clears. */
  slot: string;
  device: string;
  model?: string;
  serial?: string;
  protocol?: string;
  level: RiskLevel;
  predictedLevel: RiskLevel;
  probability: number;
  horizonDays?: number;
  /** `YYYY-MM-DD`; set for degraded and failing. */
  replaceBy?: string;
  evidence: Evidence[];
  /** ISO timestamp: since when the disk has been announced degraded or failing. */
  episodeStarted?: string;
  /** ISO timestamp of the reading this state comes from: an older one never overwrites a newer one. */
  lastReading: string;
  /** When a collector stored this state. */
  updatedMs: number;
}

/** A CloudEvent from `<root>/<host>/events/<kind>`, as stored; (source, id) is its identity. */
export interface FleetEvent {
  source: string;
  id: string;
  type: string;
  subject: string;
  /** ISO timestamp from the event. */
  time: string;
  host: string;
  /** The disk of a disk event; empty for a host event (io.harbinger.host.*). */
  disk: string;
  data: Record<string, unknown>;
  receivedMs: number;
}

export interface EventQuery {
  host?: string;
  disk?: string;
  limit: number;
}
