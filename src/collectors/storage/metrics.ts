import type { Registry } from 'prom-client';
import { stateFamily } from '../../metrics/state-family.js';
import type { StorageReading } from './reading.js';

function* arrays(reading: StorageReading | undefined) {
  for (const device of reading?.devices ?? []) if (device.md) yield { array: device.name, md: device.md };
}

export function registerStorageMetrics(registry: Registry, latest: () => StorageReading | undefined): void {
  stateFamily(registry, {
    name: 'harbinger_md_array_degraded',
    help: 'Members missing from an md RAID array (md/degraded); above 0 the array has less redundancy than built.',
    type: 'gauge',
    labelNames: ['array'],
    *samples() {
      for (const { array, md } of arrays(latest())) yield { labels: { array }, value: md.degraded };
    },
  });
  stateFamily(registry, {
    name: 'harbinger_md_array_disks',
    help: 'Members an md RAID array is built with (md/raid_disks).',
    type: 'gauge',
    labelNames: ['array'],
    *samples() {
      for (const { array, md } of arrays(latest())) yield { labels: { array }, value: md.raidDisks };
    },
  });
}
