import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** USER_HZ: /proc/stat counts CPU time in 1/100 s on every Linux architecture harbinger runs on. */
const USER_HZ = 100;
const CORES = 4;
/** Well under the agents' pressure interval (1 s), so two readings never see the same counters. */
const TICK_MS = 200;

const psi = (some: number) =>
  `some avg10=${some.toFixed(2)} avg60=${some.toFixed(2)} avg300=${some.toFixed(2)} total=${Math.round(some * 1e4)}\n` +
  'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';

/**
 * A procfs of its own for each demo host (`--path.procfs`): the three agents run on one machine,
 * whose CPU (the demo's own processes included) would be every member's figure and would make
 * the collector's failover check say whatever this machine is doing. Here each host is as busy as
 * it is told: /proc/stat advances at `utilization` of 4 cores, PSI is low, memory and load steady.
 */
export class SimulatedProc {
  private readonly startedMs = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly utilization: number,
  ) {}

  start(): void {
    mkdirSync(join(this.dir, 'pressure'), { recursive: true });
    this.write('meminfo', 'MemTotal:       16384000 kB\nMemFree:         6144000 kB\nMemAvailable:   10240000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n');
    this.write('loadavg', `${(this.utilization * CORES).toFixed(2)} ${(this.utilization * CORES).toFixed(2)} ${(this.utilization * CORES).toFixed(2)} 2/300 4242\n`);
    this.write('pressure/cpu', psi(this.utilization * 5));
    this.write('pressure/memory', psi(0));
    this.write('pressure/io', psi(0.5));
    this.tick();
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch {
        // The work directory is going (the demo stops) or full: the agent reports no CPU figure for a while.
      }
    }, TICK_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The counters as if the host had run at its utilisation since boot, a day before the demo began. */
  private tick(): void {
    const seconds = 86_400 + (Date.now() - this.startedMs) / 1000;
    const perCore = Math.round(seconds * USER_HZ);
    const busy = Math.round(perCore * this.utilization);
    // user nice system idle iowait irq softirq steal guest guest_nice
    const line = (name: string, n: number) => `${name} ${Math.round(busy * 0.8) * n} 0 ${(busy - Math.round(busy * 0.8)) * n} ${(perCore - busy) * n} 0 0 0 0 0 0`;
    this.write('stat', [line('cpu', CORES), ...Array.from({ length: CORES }, (_, i) => line(`cpu${i}`, 1)), `btime ${Math.round(this.startedMs / 1000 - 86_400)}`, ''].join('\n'));
  }

  /** Whole files only: an agent reading mid-write would see a torn one. */
  private write(name: string, text: string): void {
    const path = join(this.dir, name);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
}
