/**
 * The recorded smartctl outputs and their provenance labels (SOURCES.md) for the parser tests.
 * MIT/Apache recordings ship in test/fixtures/smartctl/; the GPL/AGPL ones (netdata, zabbix) are
 * only in the development checkout's ../shared/fixtures/smartctl/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { repoPath } from '../../helpers/tmp.js';

export const LOCAL_DIR = repoPath('test', 'fixtures', 'smartctl');
export const SHARED_DIR = join(process.cwd(), '..', 'shared', 'fixtures', 'smartctl');
export const RESTRICTED_DIRS = ['netdata', 'zabbix'];

export interface FixtureRow {
  /** `scrutiny/smart-fail2.json` */
  file: string;
  /** Absolute path of the recording. */
  path: string;
  class: string;
  health: string;
  exit: string;
  evidence: string;
}

function readRows(dir: string): FixtureRow[] {
  const rows: FixtureRow[] = [];
  for (const line of readFileSync(join(dir, 'SOURCES.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    // | file | source repo | original path | commit | license | class | model | health | exit | smartctl | evidence |
    const file = /^`([^`]+\.json)`$/.exec(cells[1] ?? '')?.[1];
    if (file === undefined || cells.length < 12) continue;
    rows.push({ file, path: join(dir, file), class: cells[6]!, health: cells[8]!, exit: cells[9]!, evidence: cells[11]! });
  }
  return rows;
}

/** The MIT/Apache recordings that ship with harbinger. */
export function localFixtures(): FixtureRow[] {
  return readRows(LOCAL_DIR);
}

/** The GPL/AGPL recordings, or undefined outside the development checkout (after saying so). */
export function restrictedFixtures(t: ExecutionContext): FixtureRow[] | undefined {
  if (!existsSync(join(SHARED_DIR, 'SOURCES.md'))) {
    t.log(`${SHARED_DIR} absent: the GPL/AGPL recordings are not redistributed with harbinger; run inside the development checkout to use them`);
    return undefined;
  }
  return readRows(SHARED_DIR).filter((row) => RESTRICTED_DIRS.some((dir) => row.file.startsWith(`${dir}/`)));
}

export const readLocal = (file: string): string => readFileSync(join(LOCAL_DIR, file), 'utf8');
export const readShared = (file: string): string => readFileSync(join(SHARED_DIR, file), 'utf8');
export const sharedPresent = (): boolean => existsSync(join(SHARED_DIR, 'SOURCES.md'));
