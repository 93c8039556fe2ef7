import type { DiskPrediction } from '../predict/service.js';
import { RISK_LEVELS, type Evidence, type RiskLevel } from '../predict/types.js';

const rank = (level: RiskLevel) => RISK_LEVELS.indexOf(level);
/** Levels at which a disk needs replacing: reaching one opens an episode. */
const atRisk = (level: RiskLevel) => rank(level) >= rank('degraded');

/**
 * What has been announced about one disk, kept in the state directory with the outbox (in the
 * same transaction as the events it caused), so a restart neither repeats nor forgets an event.
 */
export interface DiskTrack {
  disk: string;
  device: string;
  serial?: string;
  /** The level last announced (events and retained state). */
  published: RiskLevel;
  /** Open while the announced level is degraded or failing; its start names the episode. */
  episode?: { startMs: number; step: number };
  /** A lower level seen since `sinceMs` (the highest seen since then), not yet held for `settle`. */
  lower?: { level: RiskLevel; sinceMs: number };
}

export type DiskEventKind = 'failure_predicted' | 'level_changed' | 'cleared';
export type ClearReason = 'recovered' | 'replaced' | 'removed';

/** One announcement the tracker decided on; the service turns it into a CloudEvent. */
export interface DiskEventDecision {
  kind: DiskEventKind;
  disk: string;
  /** Episode start and step within it (or the reading time outside one): the event's identity. */
  identity: readonly (string | number)[];
  timeMs: number;
  level: RiskLevel;
  previousLevel: RiskLevel;
  reason?: ClearReason;
  episodeStartMs?: number;
  /** The prediction behind it; absent for a disk that is gone. */
  prediction?: DiskPrediction;
  track: DiskTrack;
}

export interface TrackerResult {
  decisions: DiskEventDecision[];
  /** Tracks to save (new or changed). */
  changed: DiskTrack[];
  /** Disks that are gone: their tracks are deleted and their retained state cleared. */
  removed: DiskTrack[];
}

/**
 * Hysteresis and episodes. A rise is announced at once (an early warning is the point); a fall
 * only after the lower level has held for `settleMs`, and then the highest level seen meanwhile
 * is announced, so a disk hovering at a threshold yields one event, not one per reading.
 */
export function trackDisks(
  tracks: ReadonlyMap<string, DiskTrack>,
  predictions: readonly DiskPrediction[],
  nowMs: number,
  settleMs: number,
): TrackerResult {
  const decisions: DiskEventDecision[] = [];
  const changed: DiskTrack[] = [];
  const present = new Set(predictions.map((p) => p.disk));
  const gone = [...tracks.values()].filter((t) => !present.has(t.disk));
  const newDevices = new Set(predictions.filter((p) => !tracks.has(p.disk)).map((p) => p.device));

  for (const p of predictions) {
    const before = tracks.get(p.disk);
    const track: DiskTrack = before
      ? structuredClone(before)
      : // A new disk starts at its level quietly, unless it is already at risk: that is news.
        { disk: p.disk, device: p.device, ...(p.serial ? { serial: p.serial } : {}), published: atRisk(p.level) ? 'ok' : p.level };
    track.device = p.device;
    const announce = (level: RiskLevel) => {
      const previous = track.published;
      track.published = level;
      delete track.lower;
      let kind: DiskEventKind = 'level_changed';
      if (!atRisk(previous) && atRisk(level)) {
        kind = 'failure_predicted';
        track.episode = { startMs: p.readingAtMs, step: 0 };
      } else if (atRisk(previous) && !atRisk(level)) {
        kind = 'cleared';
      }
      const episode = track.episode;
      const identity = episode ? [episode.startMs, episode.step++] : [p.readingAtMs];
      decisions.push({
        kind,
        disk: p.disk,
        identity,
        timeMs: nowMs,
        level,
        previousLevel: previous,
        ...(kind === 'cleared' ? { reason: 'recovered' as const } : {}),
        ...(episode ? { episodeStartMs: episode.startMs } : {}),
        prediction: p,
        track,
      });
      if (kind === 'cleared') delete track.episode;
    };

    if (rank(p.level) > rank(track.published)) {
      announce(p.level);
    } else if (rank(p.level) < rank(track.published)) {
      const highestSince = track.lower && rank(track.lower.level) > rank(p.level) ? track.lower.level : p.level;
      track.lower = { level: highestSince, sinceMs: track.lower?.sinceMs ?? p.readingAtMs };
      if (p.readingAtMs - track.lower.sinceMs >= settleMs) announce(track.lower.level);
    } else {
      delete track.lower;
    }
    if (!before || JSON.stringify(before) !== JSON.stringify(track)) changed.push(track);
  }

  for (const track of gone) {
    if (!track.episode) continue;
    // A new disk where an at-risk one was, in the same round: the disk was swapped.
    const reason: ClearReason = newDevices.has(track.device) ? 'replaced' : 'removed';
    decisions.push({
      kind: 'cleared',
      disk: track.disk,
      identity: [track.episode.startMs, track.episode.step],
      timeMs: nowMs,
      level: track.published,
      previousLevel: track.published,
      reason,
      episodeStartMs: track.episode.startMs,
      track,
    });
  }
  return { decisions, changed, removed: gone };
}

/** The evidence as published: what a scheduler or on-call tool shows a human. */
export function publishedEvidence(evidence: readonly Evidence[]): Array<Record<string, unknown>> {
  return evidence.map((e) => ({
    signal: e.signal,
    value: e.value,
    ...(e.change7d !== undefined ? { change_7d: e.change7d } : {}),
    ...(e.change30d !== undefined ? { change_30d: e.change30d } : {}),
    ...(e.threshold !== undefined ? { threshold: e.threshold } : {}),
    ...(e.weight !== undefined ? { weight: e.weight } : {}),
    note: e.note,
  }));
}
