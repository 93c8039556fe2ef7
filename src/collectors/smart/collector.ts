import type { Logger } from '../../logger.js';
import type { Collector } from '../types.js';
import { deviceKey, selectDevices, type DeviceSpec } from './devices.js';
import type { DiskReading, ScannedDevice } from './reading.js';
import type { DeviceOutcome, FailureReason } from './smartctl.js';

/** What the collector needs of smartctl (or of a replay directory). */
export interface SmartSource {
  scan(signal: AbortSignal): Promise<ScannedDevice[]>;
  read(device: DeviceSpec, wake: boolean, signal: AbortSignal): Promise<DeviceOutcome>;
}

export interface SmartCollectorSettings {
  scan: boolean;
  devices: DeviceSpec[];
  include: RegExp[];
  exclude: RegExp[];
  rescanIntervalMs: number;
  maxConcurrency: number;
  /** Read a sleeping disk anyway after this many consecutive skips (smartd's -n standby,N). */
  standbyMaxSkips: number;
}

/** One device's state across rounds. */
export interface DeviceState {
  spec: DeviceSpec;
  /** The last reading; kept while the disk sleeps or fails to answer. */
  reading?: DiskReading;
  readingAtMs?: number;
  asleep: boolean;
  consecutiveSkips: number;
  consecutiveTimeouts: number;
  /** Rounds to skip after timeouts, so one hung device cannot eat every round. */
  backoffRounds: number;
  lastError?: { reason: FailureReason | 'backoff'; message: string };
  errorsTotal: Partial<Record<FailureReason, number>>;
}

export interface SmartReading {
  devices: readonly DeviceState[];
  scanError?: string;
}

const MAX_BACKOFF_ROUNDS = 16;

export class SmartCollector implements Collector<SmartReading> {
  private readonly states = new Map<string, DeviceState>();
  private scanned: ScannedDevice[] = [];
  private lastScanMs: number | undefined;
  private scanError: string | undefined;
  /** scan said `scsi`, the device answered as ATA behind a SAT layer: read it as `sat` from now on. */
  private readonly satUpgrade = new Set<string>();

  constructor(
    private readonly settings: SmartCollectorSettings,
    private readonly source: SmartSource,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async collect(signal: AbortSignal): Promise<SmartReading> {
    await this.rescanIfDue(signal);
    const devices = selectDevices(this.scanned, this.settings.devices, this.settings.include, this.settings.exclude);
    const keys = new Set(devices.map(deviceKey));
    for (const key of this.states.keys()) if (!keys.has(key)) this.states.delete(key); // gone from the host
    const queue = [...devices];
    const worker = async () => {
      for (let device = queue.shift(); device && !signal.aborted; device = queue.shift()) {
        await this.readDevice(device, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.settings.maxConcurrency) }, worker));
    return {
      devices: devices.map((d) => structuredClone(this.state(d))),
      ...(this.scanError ? { scanError: this.scanError } : {}),
    };
  }

  private async rescanIfDue(signal: AbortSignal): Promise<void> {
    if (!this.settings.scan) return;
    const now = this.now();
    if (this.lastScanMs !== undefined && now - this.lastScanMs < this.settings.rescanIntervalMs) return;
    this.lastScanMs = now;
    try {
      this.scanned = await this.source.scan(signal);
      if (this.scanError) this.logger.info({ devices: this.scanned.length }, 'device scan works again');
      this.scanError = undefined;
    } catch (err) {
      const message = (err as Error).message;
      // Nothing found before and nothing configured: the whole collector has nothing to do, which
      // is a failure the scheduler reports (collector_success 0), not a quiet empty round.
      if (this.scanned.length === 0 && this.settings.devices.length === 0) throw err;
      if (!this.scanError) this.logger.error({ err }, 'device scan failed; keeping the devices found before');
      this.scanError = message;
    }
  }

  private state(spec: DeviceSpec): DeviceState {
    const key = deviceKey(spec);
    let state = this.states.get(key);
    if (!state) {
      state = { spec, asleep: false, consecutiveSkips: 0, consecutiveTimeouts: 0, backoffRounds: 0, errorsTotal: {} };
      this.states.set(key, state);
    }
    return state;
  }

  private async readDevice(spec: DeviceSpec, signal: AbortSignal): Promise<void> {
    const state = this.state(spec);
    if (state.backoffRounds > 0) {
      state.backoffRounds--;
      return;
    }
    const key = deviceKey(spec);
    const effective = this.satUpgrade.has(key) ? { ...spec, type: 'sat' } : spec;
    const wake = state.consecutiveSkips >= this.settings.standbyMaxSkips;
    let outcome = await this.source.read(effective, wake, signal);
    if (outcome.kind === 'reading' && spec.type === 'scsi' && !this.satUpgrade.has(key) && isAtaBehindSat(outcome.reading)) {
      // SCSI-to-ATA translation hides the ATA attributes; ask again as sat and remember.
      const retry = await this.source.read({ ...spec, type: 'sat' }, wake, signal);
      if (retry.kind === 'reading') {
        this.satUpgrade.add(key);
        this.logger.info({ device: spec.path }, 'device scanned as scsi answers as ATA: reading it as sat');
        outcome = retry;
      }
    }
    if (signal.aborted) return;
    this.apply(state, outcome);
  }

  private apply(state: DeviceState, outcome: DeviceOutcome): void {
    const log = this.logger.child({ device: deviceKey(state.spec) });
    if (outcome.kind === 'standby') {
      // Asleep is not failed: keep the last values, count the skip, wake it only when overdue.
      state.asleep = true;
      state.consecutiveSkips++;
      return;
    }
    if (outcome.kind === 'reading') {
      if (state.lastError) log.info({ after: state.lastError.reason }, 'device answers again');
      state.reading = outcome.reading;
      state.readingAtMs = this.now();
      state.asleep = false;
      state.consecutiveSkips = 0;
      state.consecutiveTimeouts = 0;
      delete state.lastError;
      return;
    }
    state.errorsTotal[outcome.reason] = (state.errorsTotal[outcome.reason] ?? 0) + 1;
    if (state.lastError?.reason !== outcome.reason) {
      log.warn({ reason: outcome.reason, detail: outcome.message }, 'cannot read SMART data from this device');
    }
    state.lastError = { reason: outcome.reason, message: outcome.message };
    if (outcome.reason === 'timeout') {
      state.consecutiveTimeouts++;
      state.backoffRounds = Math.min(MAX_BACKOFF_ROUNDS, 2 ** (state.consecutiveTimeouts - 1));
    }
  }
}

function isAtaBehindSat(reading: DiskReading): boolean {
  return reading.protocol === 'scsi' && reading.identity.vendor?.trim().toUpperCase() === 'ATA';
}
