import type { Registry } from 'prom-client';
import { stateFamily, type Sample } from '../../metrics/state-family.js';
import type { PressureReading } from './index.js';
import type { PsiResource } from './parse.js';
import type { PsiSet } from './read.js';

/** The host-wide series carry cgroup="/": /proc/pressure is the root cgroup's view. */
const HOST_CGROUP = '/';

// node_exporter's meaning: `some` = waiting (at least one task), `full` = stalled (all tasks).
const FAMILIES: ReadonlyArray<[PsiResource, 'some' | 'full', string]> = [
  ['cpu', 'some', 'waiting'],
  ['cpu', 'full', 'stalled'],
  ['memory', 'some', 'waiting'],
  ['memory', 'full', 'stalled'],
  ['io', 'some', 'waiting'],
  ['io', 'full', 'stalled'],
  ['irq', 'full', 'stalled'],
];

export function registerPressureMetrics(registry: Registry, latest: () => PressureReading | undefined): void {
  for (const [resource, line, meaning] of FAMILIES) {
    stateFamily(registry, {
      name: `harbinger_pressure_${resource}_${meaning}_seconds_total`,
      help: `Total time ${line === 'some' ? 'at least one task' : 'all non-idle tasks'} ${meaning === 'waiting' ? 'waited' : 'were stalled'} for ${resource} (PSI "${line}"), by cgroup ("/" is the whole host).`,
      type: 'counter',
      labelNames: ['cgroup'],
      *samples() {
        const reading = latest();
        if (!reading) return;
        const pick = (set: PsiSet | undefined, cgroup: string): Sample[] => {
          const total = set?.[resource]?.[line]?.totalSeconds;
          return total === undefined ? [] : [{ labels: { cgroup }, value: total }];
        };
        yield* pick(reading.psi, HOST_CGROUP);
        for (const unit of reading.units) if (unit.cgroup) yield* pick(unit.psi, unit.cgroup);
      },
    });
  }
  stateFamily(registry, {
    name: 'harbinger_pressure_available',
    help: 'Whether the kernel reports pressure stall information (1) or not (0: kernel < 4.20 or booted with psi=0).',
    type: 'gauge',
    *samples() {
      const reading = latest();
      if (reading) yield { labels: {}, value: reading.psi ? 1 : 0 };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_unit_cgroup_found',
    help: 'Whether the cgroup of a configured systemd unit was found with pressure files (1) or not (0).',
    type: 'gauge',
    labelNames: ['unit'],
    *samples() {
      for (const unit of latest()?.units ?? []) yield { labels: { unit: unit.unit }, value: unit.cgroup ? 1 : 0 };
    },
  });
  const meminfo: Array<[string, string, string]> = [
    ['harbinger_memory_total_bytes', 'MemTotal', 'Usable RAM (MemTotal in /proc/meminfo).'],
    ['harbinger_memory_available_bytes', 'MemAvailable', 'Memory available for new work without swapping (MemAvailable).'],
    ['harbinger_swap_total_bytes', 'SwapTotal', 'Swap space configured (SwapTotal).'],
    ['harbinger_swap_free_bytes', 'SwapFree', 'Swap space unused (SwapFree).'],
  ];
  for (const [name, field, help] of meminfo) {
    stateFamily(registry, {
      name,
      help,
      type: 'gauge',
      *samples() {
        const value = latest()?.memory.get(field);
        if (value !== undefined) yield { labels: {}, value };
      },
    });
  }
  stateFamily(registry, {
    name: 'harbinger_cpu_utilization_ratio',
    help: 'Busy share of all CPUs between the last two readings of /proc/stat, 0–1.',
    type: 'gauge',
    *samples() {
      const cpu = latest()?.cpu;
      if (cpu) yield { labels: {}, value: cpu.utilization };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_cpu_cores',
    help: 'Online CPUs counted in /proc/stat.',
    type: 'gauge',
    *samples() {
      const cpu = latest()?.cpu;
      if (cpu) yield { labels: {}, value: cpu.cores };
    },
  });
  for (const minutes of [1, 5, 15] as const) {
    stateFamily(registry, {
      name: `harbinger_load${minutes}`,
      help: `Load average over ${minutes} minute${minutes > 1 ? 's' : ''} (/proc/loadavg).`,
      type: 'gauge',
      *samples() {
        const load = latest()?.load;
        if (load) yield { labels: {}, value: load[`load${minutes}`] };
      },
    });
  }
}
