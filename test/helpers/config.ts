import { COLLECTORS } from '../../src/collectors/index.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError, formatProblem } from '../../src/config/problems.js';

/** loadConfig with every collector and, unless given, an empty environment. */
export const load = (input: { configFile?: string; flags?: Record<string, unknown>; env?: Record<string, string> }) =>
  loadConfig({ collectors: COLLECTORS, env: {}, ...input });

/** The problems a load is refused with, each as the one line the CLI prints; fails on success. */
export async function problems(promise: Promise<unknown>): Promise<string[]> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(err)}`);
  return err.problems.map(formatProblem);
}

/** Nine levels of nine aliases each: 9^9 nodes once expanded. */
export function billionLaughs(): string {
  const names = 'abcdefghi';
  let text = 'a: &a [x, x, x, x, x, x, x, x, x]\n';
  for (let i = 1; i < names.length; i++) text += `${names[i]}: &${names[i]} [${Array(9).fill(`*${names[i - 1]}`).join(', ')}]\n`;
  return text;
}
