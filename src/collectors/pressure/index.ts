import { join, relative } from 'node:path';
import type { Collector, CollectorContext, CollectorDefinition } from '../types.js';
import { findCgroup2Root, findUnitCgroup } from './cgroup.js';
import { registerPressureMetrics } from './metrics.js';
import { parseLoadavg, parseMeminfo, type LoadAverage } from './parse.js';
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
}

export class PressureCollector implements Collector<PressureReading> {
  private readonly unitPaths = new Map<string, string>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly context: CollectorContext,
    private readonly read: ReadText = readText,
  ) {}

  async collect(signal: AbortSignal): Promise<PressureReading> {
    const { procfs } = this.context.paths;
    const [psi, meminfo, loadavg] = await Promise.all([
      this.hostPsi(signal),
      this.read(join(procfs, 'meminfo'), signal),
      this.read(join(procfs, 'loadavg'), signal),
    ]);
    return {
      ...(psi ? { psi } : {}),
      units: psi ? await this.unitPressure(signal) : [],
      memory: parseMeminfo(meminfo),
      load: parseLoadavg(loadavg),
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
  description: 'CPU, memory, IO and IRQ pressure (PSI) of the host and of chosen systemd units; memory; load',
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
