import { join } from 'node:path';
import type { Collector, CollectorContext, CollectorDefinition } from '../types.js';
import { registerStorageMetrics } from './metrics.js';
import { parseMountinfo, parseSwaps } from './parse.js';
import { readBlockDevices, readOptional, readRequired } from './read.js';
import type { StorageReading } from './reading.js';

export type { BlockDevice, BlockDeviceKind, MdArray, MdMember, Mount, StorageReading } from './reading.js';
export { StorageUnreadableError } from './read.js';

/**
 * What every disk carries: block devices with their stacking (partitions, md, dm), mounts and
 * swap. The mounts are this process's own view (`self`): the file systems the agent can see are
 * the ones whose paths the databases report to it.
 */
export class StorageCollector implements Collector<StorageReading> {
  constructor(private readonly context: CollectorContext) {}

  async collect(signal: AbortSignal): Promise<StorageReading> {
    const { procfs, sysfs } = this.context.paths;
    // In turn, not at once: see read.ts.
    const devices = await readBlockDevices(sysfs, signal);
    const mountinfo = await readRequired(join(procfs, 'self/mountinfo'), signal);
    const swaps = await readOptional(join(procfs, 'swaps'), signal);
    return { devices, mounts: parseMountinfo(mountinfo), swaps: swaps === undefined ? [] : parseSwaps(swaps) };
  }
}

export const storageCollector: CollectorDefinition<StorageReading> = {
  name: 'storage',
  description: 'block devices (partitions, md RAID, LVM, dm-crypt), mounts and swap: what every disk carries',
  defaults: { enabled: true, interval: '30s', timeout: '10s' },
  once: false,
  create: (context) => new StorageCollector(context),
  registerMetrics: registerStorageMetrics,
};
