import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import { readHostInfo, type HostInfo } from './host-info.js';
import type { CollectorDefinition } from './types.js';

function registerHostMetrics(registry: Registry, latest: () => HostInfo | undefined): void {
  stateFamily(registry, {
    name: 'harbinger_host_info',
    help: 'The host: operating system, kernel, CPU model, physical cores, logical CPUs and memory. Always 1.',
    type: 'gauge',
    labelNames: ['os', 'os_release', 'kernel', 'arch', 'cpu_model', 'cpu_cores', 'cpu_threads', 'memory_bytes'],
    *samples() {
      const info = latest();
      if (!info) return;
      yield {
        labels: {
          os: info.os,
          os_release: info.osRelease,
          kernel: info.kernel,
          arch: info.arch,
          cpu_model: info.cpuModel,
          cpu_cores: String(info.cpuCores),
          cpu_threads: String(info.cpuThreads),
          memory_bytes: String(info.memoryBytes),
        },
        value: 1,
      };
    },
  });
}

export const hostCollector: CollectorDefinition<HostInfo> = {
  name: 'host',
  description: 'what the host is (OS, kernel, CPU, memory), read once at start',
  defaults: { enabled: true, interval: '1m', timeout: '30s' },
  once: true,
  // Read once: it does not change while the agent runs.
  create: (context) => ({ collect: () => readHostInfo(context.paths.procfs) }),
  registerMetrics: registerHostMetrics,
};
