import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { repoPath, tempDir } from './tmp.js';

export const STAND_IN = repoPath('test/stand-in/smartctl.mjs');
export const recording = (name: string) => repoPath('test/fixtures/smartctl', name);

export interface StandInDevice {
  file?: string;
  exit?: number;
  standby?: boolean;
  hang?: boolean;
  garbage?: string;
  bigOutputBytes?: number;
  delayMs?: number;
}

export interface StandIn {
  dir: string;
  env: Record<string, string>;
  /** Rewrites what the stand-in answers (between rounds). */
  set(devices: Record<string, StandInDevice>, scan?: string[]): Promise<void>;
  /** Every call so far: start/end lines with time, pid and argv. */
  calls(): Promise<Array<{ what: 'start' | 'end'; ms: number; pid: number; argv: string }>>;
  /** PIDs of the children hung devices forked. */
  children(): Promise<number[]>;
}

/** A stand-in smartctl with its own config and call log in a temp dir. */
export async function standIn(t: ExecutionContext, devices: Record<string, StandInDevice>, scan?: string[]): Promise<StandIn> {
  const dir = await tempDir(t);
  const configFile = join(dir, 'config.json');
  const set = async (d: Record<string, StandInDevice>, s?: string[]) => {
    const scanOutput = {
      json_format_version: [1, 0],
      smartctl: { version: [7, 3], exit_status: 0 },
      devices: (s ?? []).map((name) => {
        const [path, type] = name.split(';');
        return { name: path, info_name: path, type: type ?? 'sat', protocol: type === 'nvme' ? 'NVMe' : type === 'scsi' ? 'SCSI' : 'ATA' };
      }),
    };
    await writeFile(configFile, JSON.stringify({ devices: d, scan: scanOutput, log: dir }));
  };
  await set(devices, scan);
  return {
    dir,
    env: { FAKE_SMARTCTL_CONFIG: configFile },
    set,
    async calls() {
      const text = await readFile(join(dir, 'calls.log'), 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [what, ms, pid, ...argv] = line.split(' ');
          return { what: what as 'start' | 'end', ms: Number(ms), pid: Number(pid), argv: argv.join(' ') };
        });
    },
    async children() {
      const text = await readFile(join(dir, 'children'), 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map(Number);
    },
  };
}

/** The most stand-in processes that ran at the same time, from the call log. */
export function maxOverlap(calls: Array<{ what: 'start' | 'end'; ms: number }>): number {
  let running = 0;
  let max = 0;
  const events = calls.map((c) => [c.ms, c.what === 'start' ? 1 : -1] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [, delta] of events) {
    running += delta;
    max = Math.max(max, running);
  }
  return max;
}
