import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from '../durable-file.js';
import { ANSWER_STATES, DRAIN_VERDICTS, type DrainRequest, type HeldAnswer } from '../protocol/balance-report.js';

/** What the agent keeps of its drain request across restarts: the request, and the answer it holds. */
export interface DrainRecord {
  request: DrainRequest;
  /** When the host last asked without an answer: the start of balance.grant_timeout. */
  askedMs: number;
  answer?: HeldAnswer & { reason: string };
}

export const DRAIN_FILE = 'balance-drain.json';
const VERSION = 1;

/**
 * `<state_dir>/balance-drain.json`: a granted drain must hold through a restart of the agent even
 * while the collector cannot be reached, and a restarted agent must ask with the same request id
 * so that the retained answer is still its own. Written durably; a damaged file is reported and
 * treated as no request (the host asks again).
 */
export class DrainFile {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, DRAIN_FILE);
  }

  /** The record, none, or why the file cannot be used. Never throws. */
  read(): { record?: DrainRecord; problem?: string } {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' ? {} : { problem: `${this.path} cannot be read (${code ?? String(err)})` };
    }
    try {
      return { record: parseRecord(JSON.parse(text)) };
    } catch (err) {
      return { problem: `${this.path} is damaged (${(err as Error).message}); the drain request starts again` };
    }
  }

  /** Throws the system's error (a full disk): the caller says it once and keeps the record in memory. */
  write(record: DrainRecord | undefined): void {
    writeFileDurably(this.path, `${JSON.stringify({ version: VERSION, ...(record ?? {}) }, null, 2)}\n`, { mode: 0o644 });
  }
}

function parseRecord(value: unknown): DrainRecord | undefined {
  if (typeof value !== 'object' || value === null) throw new Error('not a JSON object');
  const v = value as Record<string, any>;
  if (v.version !== VERSION) throw new Error(`version ${JSON.stringify(v.version)}, not ${VERSION}`);
  if (v.request === undefined) return undefined;
  const r = v.request;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (typeof r?.id !== 'string' || !finite(r.sinceMs) || !DRAIN_VERDICTS.includes(r.verdict) || (r.level !== 'degraded' && r.level !== 'failing') || typeof r.reason !== 'string' || !Array.isArray(r.disks)) {
    throw new Error('its request is not valid');
  }
  if (!finite(v.askedMs)) throw new Error('its askedMs is not a number');
  const a = v.answer;
  if (a !== undefined && (typeof a?.request !== 'string' || !ANSWER_STATES.includes(a.state) || !finite(a.decidedMs) || typeof a.collector !== 'string' || typeof a.reason !== 'string')) {
    throw new Error('its answer is not valid');
  }
  return {
    request: { id: r.id, sinceMs: r.sinceMs, verdict: r.verdict, level: r.level, reason: r.reason, disks: r.disks.filter((d: unknown) => typeof d === 'string') },
    askedMs: v.askedMs,
    ...(a ? { answer: { request: a.request, state: a.state, decidedMs: a.decidedMs, collector: a.collector, reason: a.reason } } : {}),
  };
}
