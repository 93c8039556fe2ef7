/**
 * Pure parsers for the kernel's pressure (PSI), meminfo, loadavg and stat formats.
 * Formats: Documentation/accounting/psi.rst, Documentation/filesystems/proc.rst.
 */

export const PSI_RESOURCES = ['cpu', 'memory', 'io', 'irq'] as const;
export type PsiResource = (typeof PSI_RESOURCES)[number];

export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time; the kernel counts microseconds. */
  totalSeconds: number;
}

/**
 * `some`: at least one task waited; `full`: all non-idle tasks were stalled at once.
 * Either may be missing: cpu has no `full` line before 5.13, irq has only `full`.
 */
export interface PsiReading {
  some?: PsiLine;
  full?: PsiLine;
}

export class ParseError extends Error {
  override name = 'ParseError';
}

export function parsePsi(text: string, what = 'pressure file'): PsiReading {
  const reading: PsiReading = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [kind, ...fields] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') throw new ParseError(`${what}: unexpected line "${line}"`);
    const values: Record<string, number> = {};
    for (const field of fields) {
      const [key, value] = field.split('=');
      const number = Number(value);
      if (key === undefined || value === undefined || value === '' || !Number.isFinite(number)) {
        throw new ParseError(`${what}: bad field "${field}" in "${line}"`);
      }
      values[key] = number;
    }
    for (const key of ['avg10', 'avg60', 'avg300', 'total']) {
      if (!(key in values)) throw new ParseError(`${what}: "${kind}" line has no ${key}`);
    }
    reading[kind] = {
      avg10: values.avg10!,
      avg60: values.avg60!,
      avg300: values.avg300!,
      totalSeconds: values.total! / 1e6,
    };
  }
  if (!reading.some && !reading.full) throw new ParseError(`${what}: no "some" or "full" line`);
  return reading;
}

/** /proc/meminfo as bytes by field name (`MemTotal`, `SwapFree`, …). */
export function parseMeminfo(text: string): Map<string, number> {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!match) continue;
    // Every size in meminfo is in KiB despite the "kB" label; counts (HugePages_*) have no unit.
    fields.set(match[1]!, Number(match[2]) * (match[3] ? 1024 : 1));
  }
  if (!fields.has('MemTotal')) throw new ParseError('meminfo: no MemTotal line');
  return fields;
}

export interface LoadAverage {
  load1: number;
  load5: number;
  load15: number;
  runnable: number;
  threads: number;
}

export function parseLoadavg(text: string): LoadAverage {
  const match = /^(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+)\/(\d+)\s+\d+\s*$/.exec(text);
  if (!match) throw new ParseError(`loadavg: unexpected content "${text.trim()}"`);
  return {
    load1: Number(match[1]),
    load5: Number(match[2]),
    load15: Number(match[3]),
    runnable: Number(match[4]),
    threads: Number(match[5]),
  };
}

/** The aggregate `cpu` line of /proc/stat, in USER_HZ ticks since boot, and the online CPUs. */
export interface CpuTimes {
  /** user + nice + system + idle + iowait + irq + softirq + steal (guest time is already in user and nice). */
  totalTicks: number;
  /** total − idle − iowait. */
  busyTicks: number;
  /** `cpuN` lines: the CPUs online when the file was read. */
  cores: number;
}

// Columns of the `cpu` line in order; kernels before 2.6.33 print fewer (2.4: the first four).
const CPU_COLUMNS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;

/** /proc/stat (Documentation/filesystems/proc.rst, 1.8): CPU time of all cores together. */
export function parseProcStat(text: string, what = 'stat'): CpuTimes {
  let columns: number[] | undefined;
  let cores = 0;
  for (const line of text.split('\n')) {
    const [key, ...fields] = line.trim().split(/\s+/);
    if (key === 'cpu') {
      if (columns) throw new ParseError(`${what}: more than one aggregate "cpu" line`);
      if (fields.length < 4) throw new ParseError(`${what}: "cpu" line has ${fields.length} columns, expected at least 4 (user nice system idle): "${line}"`);
      for (const field of fields) {
        if (!/^\d+$/.test(field)) throw new ParseError(`${what}: bad column "${field}" in "${line}"`);
      }
      columns = fields.map(Number);
    } else if (key !== undefined && /^cpu\d+$/.test(key)) {
      cores++;
    }
  }
  if (!columns) throw new ParseError(`${what}: no aggregate "cpu" line`);
  if (cores === 0) throw new ParseError(`${what}: no per-CPU "cpuN" lines`);
  const tick = (name: (typeof CPU_COLUMNS)[number]) => columns![CPU_COLUMNS.indexOf(name)] ?? 0;
  const idle = tick('idle') + tick('iowait');
  const totalTicks = idle + tick('user') + tick('nice') + tick('system') + tick('irq') + tick('softirq') + tick('steal');
  return { totalTicks, busyTicks: totalTicks - idle, cores };
}
