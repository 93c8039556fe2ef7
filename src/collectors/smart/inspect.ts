/**
 * `harbinger smart inspect FILE.json…`: what the parser makes of recorded smartctl output, one
 * JSON object per file, so a user can check a disk (or a bug report) without running the agent.
 */
import { readFile } from 'node:fs/promises';
import { predict } from '../../predict/predictor.js';
import { sampleFromReading } from '../../predict/sample.js';
import { parseSmartctlOutput } from './parse.js';
import { SmartParseError, type DiskReading } from './reading.js';

const snakeKey = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** camelCase keys to snake_case, absent (undefined) fields left out, recursively. */
function snake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snake);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) out[snakeKey(key)] = snake(inner);
  }
  return out;
}

function summarize(file: string, r: DiskReading): object {
  const line: Record<string, unknown> = {
    file,
    disk: r.disk,
    device: r.device,
    protocol: r.protocol,
    model: r.identity.model,
    serial: r.identity.serial,
    firmware: r.identity.firmware,
    smart_passed: r.smartPassed,
    temperature_celsius: r.temperatureCelsius,
    power_on_hours: r.powerOnSeconds === undefined ? undefined : r.powerOnSeconds / 3600,
    // A trimmed recording has no exit status: do not show the assumed 0 as if smartctl said it.
    exit_status: r.exitStatusAssumed ? undefined : r.exitStatus.raw,
    counters: r.counters,
    ata: r.ata && (r.ata.errorLogCount !== undefined || r.ata.selfTestErrors !== undefined) ? { errorLogCount: r.ata.errorLogCount, selfTestErrors: r.ata.selfTestErrors } : undefined,
    nvme: r.nvme,
    scsi: r.scsi,
    // One recording is one sample: the verdict and the absolute counts speak, growth cannot.
    prediction: predictOne(r),
  };
  return snake(line) as object;
}

function predictOne(r: DiskReading): object {
  const now = Date.now();
  const p = predict([sampleFromReading(r, now)], now);
  return { level: p.level, probability: p.probability, horizonDays: p.horizonDays, replaceBy: p.replaceBy, evidence: p.evidence, history: 'this recording only' };
}

function failure(file: string, kind: string, message: string, path?: string): object {
  return { file, error: path === undefined ? { kind, message } : { kind, message, path } };
}

async function inspectFile(file: string): Promise<{ line: object; ok: boolean }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    // An unreadable file is "not JSON" as far as the parser goes; the OS error says why.
    return { line: failure(file, 'not_json', error instanceof Error ? error.message : String(error)), ok: false };
  }
  try {
    return { line: summarize(file, parseSmartctlOutput(text)), ok: true };
  } catch (error) {
    if (!(error instanceof SmartParseError)) throw error;
    return { line: failure(file, error.kind, error.message, error.path), ok: false };
  }
}

export async function inspectFiles(paths: string[]): Promise<{ lines: object[]; ok: boolean }> {
  const results = await Promise.all(paths.map(inspectFile));
  return { lines: results.map((r) => r.line), ok: results.every((r) => r.ok) };
}
