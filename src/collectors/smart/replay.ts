import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SmartSource } from './collector.js';
import type { DeviceSpec } from './devices.js';
import { parseSmartctlOutput } from './parse.js';
import { SmartParseError, type ScannedDevice } from './reading.js';
import type { DeviceOutcome } from './smartctl.js';

/**
 * `--smart.replay DIR`: recorded smartctl JSON instead of smartctl. For a newcomer without SMART
 * disks, the demo, and reproducing a user's report from the files they sent.
 *
 *   DIR/sda.json          one device, re-read every round (edit it to change what it says)
 *   DIR/sdb/001.json …    one device whose recordings advance one per round, in name order,
 *                         staying on the last: a disk that degrades over a few rounds
 *
 * Each file's own `smartctl.exit_status` is its exit status; a sleeping disk cannot be replayed.
 */
export class ReplaySource implements SmartSource {
  private readonly rounds = new Map<string, number>();

  constructor(private readonly dir: string) {}

  async scan(): Promise<ScannedDevice[]> {
    const entries = await readdir(this.dir, { withFileTypes: true });
    const devices: ScannedDevice[] = [];
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) devices.push({ name: entry.name, type: 'replay' });
      else if (entry.name.endsWith('.json')) devices.push({ name: entry.name.slice(0, -'.json'.length), type: 'replay' });
    }
    return devices;
  }

  async read(device: DeviceSpec): Promise<DeviceOutcome> {
    const started = Date.now();
    let file = join(this.dir, `${device.path}.json`);
    try {
      const dirPath = join(this.dir, device.path);
      if ((await stat(dirPath).catch(() => undefined))?.isDirectory()) {
        const files = (await readdir(dirPath)).filter((f) => f.endsWith('.json')).sort();
        if (files.length === 0) throw new Error(`no .json recordings in ${dirPath}`);
        const round = this.rounds.get(device.path) ?? 0;
        this.rounds.set(device.path, round + 1);
        file = join(dirPath, files[Math.min(round, files.length - 1)]!);
      }
      const text = await readFile(file, 'utf8');
      return { kind: 'reading', reading: parseSmartctlOutput(text, { device: device.path }), durationMs: Date.now() - started };
    } catch (err) {
      const durationMs = Date.now() - started;
      if (err instanceof SmartParseError) return { kind: 'failed', reason: err.kind, message: `${file}: ${err.message}`, durationMs };
      return { kind: 'failed', reason: 'open_failed', message: (err as Error).message, durationMs };
    }
  }
}
