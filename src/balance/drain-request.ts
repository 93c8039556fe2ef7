import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { DrainRequest, HeldAnswer } from '../protocol/balance-report.js';
import type { DrainAnswer } from '../protocol/drain-grant.js';
import type { DrainFile, DrainRecord } from './drain-file.js';
import type { Override } from './override.js';
import type { BalanceDecision } from './policy.js';

/** Where the host's drain request stands: asked and waiting, granted, deferred, or unanswered past balance.grant_timeout. */
export type RequestState = 'waiting' | 'granted' | 'deferred' | 'unanswered';
export const REQUEST_STATES: readonly RequestState[] = ['waiting', 'granted', 'deferred', 'unanswered'];

/** The host's drain request as /health, the metrics and the host events show it. */
export interface DrainView {
  cluster: string | undefined;
  coordinated: boolean;
  request: DrainRequest | undefined;
  state: RequestState | undefined;
  answer: (HeldAnswer & { reason: string }) | undefined;
}

export interface CoordinationSettings {
  host: string;
  /** The cluster; coordination is on only with one and with balance.coordinate. */
  cluster: string | undefined;
  enabled: boolean;
  /**
   * Whether there is a way to the collector (MQTT). A cluster member without one never gets an
   * answer: it decides at once as if the wait had run out (the drive's own verdict only).
   */
  linked: boolean;
  grantTimeoutMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`);

/**
 * The host's side of cluster-aware draining. When its own decision is to drain for a data disk,
 * it asks the collector and drains only once granted; until then, and when deferred, it stays up
 * at the weight its pressure gives. Without an answer for `grant_timeout` it drains on the drive's
 * own verdict only, never on a prediction. A database that does not answer (`down`) and an
 * operator's override are never asked about: down is a fact, and the operator has the last word.
 */
export class DrainCoordination {
  private record: DrainRecord | undefined;
  private writeFailing = false;

  constructor(
    private settings: CoordinationSettings,
    private readonly deps: { file: DrainFile; logger: Logger; now: () => number },
  ) {}

  /** Reads the request kept by the last run: a granted drain holds from the first second. */
  load(): void {
    const { record, problem } = this.deps.file.read();
    if (problem) this.deps.logger.error({ problem }, 'the drain request file is not valid; the host asks the collector again if it needs to drain');
    this.record = record;
    if (record) this.deps.logger.info({ request: record.request.id, answer: record.answer?.state ?? 'none' }, 'drain request picked up from the last run');
  }

  configure(settings: CoordinationSettings): void {
    this.settings = settings;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  request(): DrainRequest | undefined {
    return this.record?.request;
  }

  /** The answer held for the current request. */
  answer(): DrainRecord['answer'] {
    return this.record?.answer;
  }

  state(): RequestState | undefined {
    const record = this.record;
    if (!record) return undefined;
    if (record.answer) return record.answer.state;
    return !this.settings.linked || this.deps.now() - record.askedMs >= this.settings.grantTimeoutMs ? 'unanswered' : 'waiting';
  }

  /** When the wait for an answer runs out, for a timer that decides again then. */
  deadlineMs(): number | undefined {
    const record = this.record;
    if (!record || record.answer || !this.settings.linked) return undefined;
    return record.askedMs + this.settings.grantTimeoutMs;
  }

  /**
   * The collector's answer (undefined: its retained answer was cleared, a release). Returns
   * whether it is news (a new state, or a new reason); an answer to another request is ignored.
   */
  onAnswer(answer: DrainAnswer | undefined): boolean {
    const record = this.record;
    if (!record) return false;
    if (!answer) {
      if (!record.answer) return false;
      // Released while still needed: ask again, and wait for a new answer from now.
      this.save({ request: record.request, askedMs: this.deps.now() });
      return true;
    }
    if (answer.request !== record.request.id) return false;
    const held = record.answer;
    if (held && held.state === answer.state && held.decidedMs === answer.decidedMs && held.reason === answer.reason) return false;
    this.save({ ...record, answer: { request: answer.request, state: answer.state, decidedMs: answer.decidedMs, collector: answer.collector, reason: answer.reason } });
    return true;
  }

  /**
   * The decision the host publishes, from its own: unchanged unless its own is a drain for disks
   * with coordination on; then drained only under a grant, or past the timeout on the drive's verdict.
   */
  apply(decision: BalanceDecision, override: Override | undefined): BalanceDecision {
    const drain = decision.diskDrain;
    if (!this.settings.enabled || !drain || override) {
      if (this.record) this.save(undefined);
      return decision;
    }
    const now = this.deps.now();
    let record = this.record;
    const reason = decision.reasons[0] ?? 'a data disk is failing';
    if (!record) {
      const request: DrainRequest = { id: requestId(this.settings.host, now), sinceMs: now, verdict: drain.verdict, level: drain.level, reason, disks: drain.disks };
      record = { request, askedMs: now };
      this.save(record);
      this.deps.logger.warn(
        { request: request.id, cluster: this.settings.cluster, verdict: request.verdict, disks: request.disks },
        this.settings.linked ? 'this host would drain for a disk: asking the collector for a grant' : "this host would drain for a disk, with no collector to ask: only the drive's own verdict drains it",
      );
    } else if (record.request.verdict !== drain.verdict || record.request.level !== drain.level || record.request.reason !== reason || record.request.disks.join() !== drain.disks.join()) {
      // The same episode, worse or better known: the id stays, so a grant already given holds.
      record = { ...record, request: { ...record.request, verdict: drain.verdict, level: drain.level, reason, disks: drain.disks } };
      this.save(record);
    }
    // A database that does not answer takes the host down whatever the collector says; the
    // request and any grant stand, so the host does not come back on the failing disk.
    if (decision.state === 'down') return decision;
    const answer = record.answer;
    if (answer?.state === 'granted') {
      return { ...decision, reasons: [...decision.reasons, `drain granted by the collector ${answer.collector} at ${iso(answer.decidedMs)}`] };
    }
    const undrained = drain.undrained;
    const held = (why: string): BalanceDecision => ({ ...undrained, reasons: [why, ...decision.reasons, ...undrained.reasons] });
    if (answer?.state === 'deferred') return held(`drain deferred by the collector: ${answer.reason}`);
    if (!this.settings.linked || now - record.askedMs >= this.settings.grantTimeoutMs) {
      const why = this.settings.linked ? `no answer from the collector within ${seconds(this.settings.grantTimeoutMs)}` : 'no collector to ask (mqtt.url is not set)';
      if (drain.verdict === 'drive') return { ...decision, reasons: [...decision.reasons, `${why}: draining on the drive's own verdict`] };
      return held(`${why}: a prediction does not drain the host without a grant`);
    }
    return held(`waiting for the collector's grant to drain (asked at ${iso(record.askedMs)})`);
  }

  private save(record: DrainRecord | undefined): void {
    this.record = record;
    try {
      this.deps.file.write(record);
      if (this.writeFailing) this.deps.logger.info({ file: this.deps.file.path }, 'the drain request file is written again');
      this.writeFailing = false;
    } catch (err) {
      if (!this.writeFailing) {
        this.deps.logger.error({ err, file: this.deps.file.path }, 'cannot save the drain request (is the state directory full?); it holds in memory, and a restart asks the collector again');
      }
      this.writeFailing = true;
    }
  }
}

/** 16 hex digits, unique per host and start of the episode. */
export function requestId(host: string, sinceMs: number): string {
  return createHash('sha256').update(JSON.stringify([host, sinceMs])).digest('hex').slice(0, 16);
}
