import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import type { RunningAgent } from './agent.js';
import { parseScrape, sampleValue } from './metrics.js';

/**
 * Damages a closed SQLite file the way a bad sector or a torn copy would: random bytes over page 2
 * onward (offset 4096, 4096 bytes), the 100-byte header and the rest of page 1 intact, so the file
 * still opens as a database and fails only when its pages are read.
 */
export function damagePages(file: string): void {
  if (statSync(file).size < 3 * 4096) throw new Error(`${file} is too small to damage past page 2`);
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, randomBytes(4096), 0, 4096, 4096);
  } finally {
    closeSync(fd);
  }
}

/** The state directory's files named `<name>.damaged-<ISO time>` (and their -wal/-shm). */
export const damagedCopies = (dir: string, name: string): string[] => readdirSync(dir).filter((f) => f.startsWith(`${name}.damaged-`));

/** The agent serves /health and /metrics, and counts the damaged file. */
export async function checkServes(t: ExecutionContext, agent: RunningAgent, file: string, expected: number): Promise<void> {
  const health = await fetch(`${agent.url}/health`);
  t.is(health.status, 200);
  const scrape = parseScrape(await (await fetch(`${agent.url}/metrics`)).text());
  t.is(sampleValue(scrape, 'harbinger_state_files_damaged_total', { file }), expected);
}
