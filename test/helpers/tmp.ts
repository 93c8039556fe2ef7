import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';

/** A temporary directory removed when the test ends. */
export async function tempDir(t: ExecutionContext, prefix = 'harbinger-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function writeTemp(t: ExecutionContext, name: string, content: string): Promise<string> {
  const dir = await tempDir(t);
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

/** Repository paths: ava runs from the repo root, while compiled tests live under dist/. */
export const repoPath = (...parts: string[]): string => join(process.cwd(), ...parts);
