import type { Registry } from 'prom-client';
import { stateFamily } from '../metrics/state-family.js';
import type { CollectorDefinition } from './types.js';

export interface HostInfo {
  os: string;
  osRelease: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpuCores: number;
  cpuThreads: number;
  memoryBytes: number;
}

/**
 * What the host is, read once at start: it does not change while the agent runs, and
 * systeminformation spawns helper commands that have no place in a periodic loop.
 */
async function readHostInfo(): Promise<HostInfo> {
  // Loaded here, not at start-up: the agent needs it once, and most of its code never.
  const { default: si } = await import('systeminformation');
  const [os, cpu, mem] = await Promise.all([si.osInfo(), si.cpu(), si.mem()]);
  return {
    os: os.distro || os.platform,
    osRelease: os.release,
    kernel: os.kernel,
    arch: os.arch,
    cpuModel: [cpu.manufacturer, cpu.brand].filter(Boolean).join(' '),
    cpuCores: cpu.physicalCores,
    cpuThreads: cpu.cores,
    memoryBytes: mem.total,
  };
}

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
  create: () => ({ collect: () => readHostInfo() }),
  registerMetrics: registerHostMetrics,
};
