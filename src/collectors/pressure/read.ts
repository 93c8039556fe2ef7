import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PSI_RESOURCES, parsePsi, type PsiReading, type PsiResource } from './parse.js';

export type PsiSet = Partial<Record<PsiResource, PsiReading>>;

export type ReadText = (path: string, signal: AbortSignal) => Promise<string>;

export const readText: ReadText = (path, signal) => readFile(path, { encoding: 'utf8', signal });

/**
 * Kernel without PSI: /proc/pressure is missing (< 4.20, or CONFIG_PSI=n), or its files fail with
 * EOPNOTSUPP (CONFIG_PSI_DEFAULT_DISABLED=y without `psi=1`, or booted with `psi=0`).
 */
export class PsiUnavailableError extends Error {
  override name = 'PsiUnavailableError';
}

/**
 * Reads `<dir>/<resource><suffix>` for every PSI resource: `/proc/pressure/cpu` or a cgroup's
 * `cpu.pressure`. A missing file for one resource (irq needs 6.1 and IRQ time accounting) is left
 * out; a set with none at all means PSI is not available there.
 */
export async function readPsiSet(dir: string, suffix: '' | '.pressure', read: ReadText, signal: AbortSignal): Promise<PsiSet> {
  const set: PsiSet = {};
  let found = 0;
  for (const resource of PSI_RESOURCES) {
    const path = join(dir, `${resource}${suffix}`);
    let text: string;
    try {
      text = await read(path, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EOPNOTSUPP') throw new PsiUnavailableError(`${path}: ${code}`);
      throw err;
    }
    set[resource] = parsePsi(text, path);
    found++;
  }
  if (found === 0) throw new PsiUnavailableError(`no pressure files in ${dir}`);
  return set;
}
