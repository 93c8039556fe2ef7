import { join, relative } from 'node:path';
import type { Collector, CollectorContext, CollectorDefinition } from '../types.js';
import { findCgroup2Root, findUnitCgroup } from './cgroup.js';
import { registerPressureMetrics } from './metrics.js';
import { parseLoadavg, parseMeminfo, parseProcStat, type CpuTimes, type LoadAverage } from './parse.js';
import { PsiUnavailableError, readPsiSet, readText, type PsiSet, type ReadText } from './read.js';

export interface UnitPressure {
  unit: string;
  /** Path below the cgroup v2 root, `/system.slice/…`; absent when the unit was not found. */
  cgroup?: string;
  psi?: PsiSet;
}

export interface PressureReading {
  /** Host-wide PSI; absent when the kernel has none. */
  psi?: PsiSet;
  units: UnitPressure[];
  /** /proc/meminfo fields in bytes. */
  memory: ReadonlyMap<string, number>;
  load: LoadAverage;
  /** Busy share of all cores between this reading and the previous one; absent on the first reading or without /proc/stat. */
  cpu?: {
    utilization: number;
    cores: number;
    windowSeconds: number;
    /**
     * Busy share over about the last minute (from the oldest sample at most 60 s before this one,
     * or the oldest kept): the figure the cluster's headroom is weighed on, steadier than one interval.
     */
    utilization1m: number;
  };
}

export class PressureCollector implements Collector<PressureReading> {
  private readonly unitPaths = new Map<string, string>();
  private readonly reported = new Set<string>();
  /** The last /proc/stat sample read, the base of the next utilisation figure. */
  private cpuBase?: { times: CpuTimes; atMs: number };
  /** Samples of the last minute, oldest first: the base of the one-minute figure. */
  private cpuMinute: Array<{ times: CpuTimes; atMs: number }> = [];

  constructor(
    private readonly context: CollectorContext,
    private readonly read: ReadText = readText,
    /** Times the /proc/stat samples (CollectorContext has no clock); tests inject their own. */
    private readonly now: () => number = Date.now,
  ) {}

  async collect(signal: AbortSignal): Promise<PressureReading> {
    const { procfs } = this.context.paths;
    const [psi, meminfo, loadavg, cpu] = await Promise.all([
      this.hostPsi(signal),
      this.read(join(procfs, 'meminfo'), signal),
      this.read(join(procfs, 'loadavg'), signal),
      this.cpuUtilization(signal),
    ]);
    return {
      ...(psi ? { psi } : {}),
      units: psi ? await this.unitPressure(signal) : [],
      memory: parseMeminfo(meminfo),
      load: parseLoadavg(loadavg),
      ...(cpu ? { cpu } : {}),
    };
  }

  /**
   * Busy share of all cores since the previous /proc/stat sample. Never fails the collection:
   * PSI, memory and load are worth reporting without it. A failed read is no sample, so the base
   * stays and the next figure spans the gap (its windowSeconds says so).
   */
  private async cpuUtilization(signal: AbortSignal): Promise<PressureReading['cpu']> {
    const path = join(this.context.paths.procfs, 'stat');
    let times: CpuTimes;
    try {
      times = parseProcStat(await this.read(path, signal), path);
    } catch (err) {
      // A timeout fails the collection through the other reads; it says nothing about /proc/stat.
      if (signal.aborted) throw err;
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      this.once(missing ? 'no-stat' : 'stat-error', () =>
        this.context.logger.warn(
          { err, path },
          missing
            ? `${path} is missing: no CPU utilisation for this host, so the cluster headroom cannot use this host's CPU. PSI, memory and load are still reported.`
            : `cannot read CPU utilisation from ${path}: the cluster headroom cannot use this host's CPU until it can. PSI, memory and load are still reported.`,
        ),
      );
      return undefined;
    }
    const atMs = this.now();
    this.reported.delete('no-stat');
    this.reported.delete('stat-error');
    const base = this.cpuBase;
    this.cpuBase = { times, atMs };
    const minute = this.cpuMinute;
    minute.push({ times, atMs });
    while (minute.length > 2 && minute[1]!.atMs <= atMs - 60_000) minute.shift();
    if (!base) return undefined;
    const total = times.totalTicks - base.times.totalTicks;
    // Counters that went backwards (a reboot between samples, a restored snapshot) or stood still
    // (the same sample twice) give no figure; the new sample is the next base.
    if (!(total > 0)) {
      this.cpuMinute = [{ times, atMs }];
      return undefined;
    }
    const busy = times.busyTicks - base.times.busyTicks;
    const first = minute[0]!;
    const minuteTotal = times.totalTicks - first.times.totalTicks;
    const share = (b: number, t: number) => Math.min(1, Math.max(0, b / t));
    return {
      utilization: share(busy, total),
      cores: times.cores,
      windowSeconds: (atMs - base.atMs) / 1000,
      utilization1m: minuteTotal > 0 ? share(times.busyTicks - first.times.busyTicks, minuteTotal) : share(busy, total),
    };
  }

  private async hostPsi(signal: AbortSignal): Promise<PsiSet | undefined> {
    try {
      return await readPsiSet(join(this.context.paths.procfs, 'pressure'), '', this.read, signal);
    } catch (err) {
      if (!(err instanceof PsiUnavailableError)) throw err;
      this.once('no-psi', () =>
        this.context.logger.warn(
          { err },
          'pressure stall information (PSI) is not available: the kernel is older than 4.20 or PSI is off. ' +
            'Fix: on a 4.20+ kernel built with CONFIG_PSI, add psi=1 to the kernel command line and reboot. ' +
            'Memory and load metrics are still reported.',
        ),
      );
      return undefined;
    }
  }

  private async unitPressure(signal: AbortSignal): Promise<UnitPressure[]> {
    const units = (this.context.settings.options.units ?? []) as string[];
    if (units.length === 0) return [];
    const root = await findCgroup2Root(this.context.paths.sysfs);
    if (!root) {
      this.once('no-cgroup2', () =>
        this.context.logger.warn(
          { sysfs: this.context.paths.sysfs },
          'no cgroup v2 hierarchy under <sysfs>/fs/cgroup: per-unit pressure needs cgroup v2 (systemd.unified_cgroup_hierarchy=1, or the hybrid layout)',
        ),
      );
      return units.map((unit) => ({ unit }));
    }
    const results: UnitPressure[] = [];
    for (const unit of units) {
      results.push(await this.oneUnit(root, unit, signal));
    }
    return results;
  }

  private async oneUnit(root: string, unit: string, signal: AbortSignal): Promise<UnitPressure> {
    let dir = this.unitPaths.get(unit) ?? (await findUnitCgroup(root, unit));
    for (let attempt = 0; dir && attempt < 2; attempt++) {
      try {
        const psi = await readPsiSet(dir, '.pressure', this.read, signal);
        this.unitPaths.set(unit, dir);
        this.reported.delete(`unit:${unit}`);
        return { unit, cgroup: `/${relative(root, dir)}`, psi };
      } catch (err) {
        if (!(err instanceof PsiUnavailableError)) throw err;
        // The unit was restarted into another slice, or stopped: look for it again once.
        this.unitPaths.delete(unit);
        dir = attempt === 0 ? await findUnitCgroup(root, unit) : undefined;
      }
    }
    this.once(`unit:${unit}`, () =>
      this.context.logger.warn(
        { unit, cgroupRoot: root },
        'no cgroup with pressure files for this unit: is it running (systemctl status), and is its name spelled as systemd shows it?',
      ),
    );
    return { unit };
  }

  /** Says a persistent condition once, not on every collection while it lasts. */
  private once(key: string, say: () => void): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    say();
  }
}

export const pressureCollector: CollectorDefinition<PressureReading> = {
  name: 'pressure',
  description: 'CPU, memory, IO and IRQ pressure (PSI) of the host and of chosen systemd units; memory; load; CPU utilisation',
  defaults: { enabled: true, interval: '15s', timeout: '5s' },
  options: {
    units: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Za-z0-9:_.\\\\@-]+\\.(service|scope|slice)$' },
      description: 'systemd units (like postgresql@15-main.service) whose cgroup pressure to report',
      default: [],
    },
  },
  create: (context) => new PressureCollector(context),
  registerMetrics: registerPressureMetrics,
};
