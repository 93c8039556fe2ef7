import type { Exec } from '../../exec.js';
import type { DeviceSpec } from './devices.js';
import { decodeExitStatus, parseScanOutput, parseSmartctlOutput } from './parse.js';
import { SmartParseError, type DiskReading, type ScannedDevice } from './reading.js';

/**
 * The exit status we ask smartctl to use when it skips a sleeping disk (`-n standby,3`). smartctl
 * returns 1 (command line) and 2 (open failed) from separate early exits, never both, so 3 cannot
 * be a real status.
 */
export const STANDBY_EXIT = 3;

/**
 * One call per device gets everything the predictor reads:
 *   -i  identity (model, serial, WWN, firmware, capacity, rotation, form factor)
 *   -H  the drive's own verdict (SMART overall health / NVMe critical warning)
 *   -A  ATA attributes; the NVMe health log; SCSI counters, grown defects, temperature, cycles
 *   -l error     the ATA summary error log; the NVMe error log; SCSI error counter log
 *   -l selftest  the self-test log (failed self-tests are evidence)
 * Not -x: its extended logs (SCT, GP logs, device statistics) cost more drive time on every round
 * and the predictor does not use them. --json=c: compact, a third of the bytes.
 */
export function readArgs(device: DeviceSpec, wake: boolean): string[] {
  return [
    '--json=c',
    '-i',
    '-H',
    '-A',
    '-l',
    'error',
    '-l',
    'selftest',
    // Never spin up a sleeping disk (smartd's -n standby), unless it has been skipped too often.
    `--nocheck=${wake ? 'never' : `standby,${STANDBY_EXIT}`}`,
    ...(device.type ? ['-d', device.type] : []),
    device.path,
  ];
}

/** Why a device gave no reading: the `reason` label of harbinger_smart_device_errors_total. */
export type FailureReason =
  | 'timeout'
  | 'output_too_large'
  | 'exec_failed'
  | 'killed'
  | SmartParseError['kind'];

export type DeviceOutcome =
  | { kind: 'reading'; reading: DiskReading; durationMs: number }
  | { kind: 'standby'; durationMs: number }
  | { kind: 'failed'; reason: FailureReason; message: string; durationMs: number };

export interface SmartctlSettings {
  path: string;
  timeoutMs: number;
  maxOutputBytes: number;
}

/** Runs smartctl for discovery and per-device reads; everything it returns is data, not a throw. */
export class Smartctl {
  constructor(
    private readonly settings: SmartctlSettings,
    private readonly exec: Exec,
  ) {}

  /** `smartctl --scan-open --json`: the devices and types smartctl would pick itself. */
  async scan(signal: AbortSignal): Promise<ScannedDevice[]> {
    const result = await this.exec([this.settings.path, '--scan-open', '--json=c'], {
      timeoutMs: this.settings.timeoutMs,
      maxOutputBytes: this.settings.maxOutputBytes,
      signal,
    }).catch((err: NodeJS.ErrnoException) => {
      throw new Error(this.cannotRun(err));
    });
    if (result.timedOut) throw new Error(`smartctl --scan-open timed out after ${this.settings.timeoutMs} ms`);
    if (result.outputTruncated) throw new Error(`smartctl --scan-open printed more than ${this.settings.maxOutputBytes} bytes`);
    return parseScanOutput(result.stdout);
  }

  private cannotRun(err: NodeJS.ErrnoException): string {
    if (err.code === 'ENOENT') {
      return `smartctl not found at "${this.settings.path}": install smartmontools >= 7.0 (apt-get install smartmontools) or set collector.smart.smartctl_path`;
    }
    return `cannot run ${this.settings.path}: ${err.message}`;
  }

  async read(device: DeviceSpec, wake: boolean, signal: AbortSignal): Promise<DeviceOutcome> {
    let result;
    try {
      result = await this.exec([this.settings.path, ...readArgs(device, wake)], {
        timeoutMs: this.settings.timeoutMs,
        maxOutputBytes: this.settings.maxOutputBytes,
        signal,
      });
    } catch (err) {
      return { kind: 'failed', reason: 'exec_failed', message: this.cannotRun(err as NodeJS.ErrnoException), durationMs: 0 };
    }
    const { durationMs } = result;
    if (result.timedOut) {
      return { kind: 'failed', reason: 'timeout', message: `no answer within ${this.settings.timeoutMs} ms; smartctl was killed`, durationMs };
    }
    if (result.outputTruncated) {
      return { kind: 'failed', reason: 'output_too_large', message: `output cut off at ${this.settings.maxOutputBytes} bytes`, durationMs };
    }
    if (result.exitCode === null) {
      return { kind: 'failed', reason: 'killed', message: `smartctl ended by ${result.signal ?? 'abort'}`, durationMs };
    }
    if (result.exitCode === STANDBY_EXIT && !wake) return { kind: 'standby', durationMs };
    try {
      const reading = parseSmartctlOutput(result.stdout, { device: device.path, ...(device.type ? { type: device.type } : {}) });
      // Bits 0-1: whatever was printed, it is not data about the disk.
      if (result.exitCode & 0b11) {
        const reason = result.exitCode & 1 ? 'command_line' : 'open_failed';
        return { kind: 'failed', reason, message: `smartctl exit status ${result.exitCode}`, durationMs };
      }
      // The process's status is the authority; the JSON's copy can be stale in a hand-edited file.
      const { exitStatusAssumed: _assumed, ...known } = reading;
      return { kind: 'reading', reading: { ...known, exitStatus: decodeExitStatus(result.exitCode) }, durationMs };
    } catch (err) {
      if (err instanceof SmartParseError) {
        const stderr = result.stderr.trim();
        return { kind: 'failed', reason: err.kind, message: stderr ? `${err.message} (stderr: ${stderr.slice(0, 200)})` : err.message, durationMs };
      }
      throw err;
    }
  }
}
