/**
 * What the host is, from the files the kernel and the distribution keep for it: os-release(5) for
 * the distribution, and under procfs `sys/kernel/osrelease` (the kernel), `cpuinfo` (the CPU model,
 * logical CPUs, and physical cores as distinct physical id / core id pairs) and `meminfo`
 * (MemTotal). A few lines of each; reading them directly keeps a general system-information
 * library, and its megabytes of code, out of an agent that needs them once.
 */
import { readFile } from 'node:fs/promises';
import { arch, cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { parseMeminfo } from './pressure/parse.js';

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

/** Where os-release(5) says to look, in order. */
export const OS_RELEASE_FILES = ['/etc/os-release', '/usr/lib/os-release'];

/** os-release(5): KEY=value lines, the value optionally quoted, shell escapes in double quotes. */
export function parseOsRelease(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    let value = match[2]!;
    if (/^".*"$/.test(value)) value = value.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
    else if (/^'.*'$/.test(value)) value = value.slice(1, -1);
    fields.set(match[1]!, value);
  }
  return fields;
}

export interface CpuInfo {
  model: string | undefined;
  threads: number;
  /** Distinct (physical id, core id) pairs; undefined where cpuinfo does not say (most ARM kernels). */
  cores: number | undefined;
}

/** /proc/cpuinfo: one block per logical CPU. */
export function parseCpuinfo(text: string): CpuInfo {
  let threads = 0;
  let model: string | undefined;
  const cores = new Set<string>();
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) fields.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    if (!fields.has('processor')) continue;
    threads++;
    model ??= fields.get('model name') || undefined;
    const pkg = fields.get('physical id');
    const core = fields.get('core id');
    if (pkg !== undefined && core !== undefined) cores.add(`${pkg}:${core}`);
  }
  return { model, threads, cores: cores.size > 0 ? cores.size : undefined };
}

function memTotal(meminfo: string | undefined): number | undefined {
  try {
    return meminfo === undefined ? undefined : parseMeminfo(meminfo).get('MemTotal');
  } catch {
    return undefined; // no MemTotal line: node:os has it
  }
}

const readText = (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);

/** Each field from its file, or from node:os where the file is missing (a non-Linux procfs, a container without os-release). */
export async function readHostInfo(procfs: string, osReleaseFiles: readonly string[] = OS_RELEASE_FILES): Promise<HostInfo> {
  let osRelease: Map<string, string> | undefined;
  for (const file of osReleaseFiles) {
    const text = await readText(file);
    if (text !== undefined) {
      osRelease = parseOsRelease(text);
      break;
    }
  }
  const [kernel, cpuinfo, meminfo] = await Promise.all([
    readText(join(procfs, 'sys/kernel/osrelease')),
    readText(join(procfs, 'cpuinfo')),
    readText(join(procfs, 'meminfo')),
  ]);
  const cpu = cpuinfo === undefined ? undefined : parseCpuinfo(cpuinfo);
  const threads = cpu?.threads || cpus().length;
  return {
    os: osRelease?.get('NAME') ?? type(),
    osRelease: osRelease?.get('VERSION_ID') ?? '',
    kernel: kernel?.trim() || release(),
    arch: arch(),
    cpuModel: cpu?.model ?? cpus()[0]?.model.trim() ?? '',
    cpuCores: cpu?.cores ?? threads,
    cpuThreads: threads,
    memoryBytes: memTotal(meminfo) ?? totalmem(),
  };
}
