/**
 * A configuration problem names the key, where the value came from (file and line, env var or
 * flag) and what is wrong, so a sysadmin can fix every problem in one pass.
 */
export interface ConfigProblem {
  /** Dotted key path, e.g. `collector.pressure.interval`; empty for the document itself. */
  key: string;
  message: string;
  /** `/etc/harbinger/harbinger.yml`, `env HARBINGER_LOG_LEVEL`, `flag --log.level`, or `default`. */
  source?: string;
  line?: number;
  column?: number;
}

/**
 * At most this many problems are kept and shown: a file of thousands of mistakes (a wrong file
 * passed as --config) reads as its first problems and a count, not as pages of output.
 */
export const MAX_PROBLEMS = 50;

export class ConfigError extends Error {
  /** The first MAX_PROBLEMS problems. */
  readonly problems: ConfigProblem[];
  /** How many more problems there were. */
  readonly omitted: number;

  constructor(problems: readonly ConfigProblem[], omitted = 0) {
    const kept = problems.slice(0, MAX_PROBLEMS);
    const more = omitted + problems.length - kept.length;
    super([...kept.map(formatProblem), ...(more > 0 ? [omittedLine(more)] : [])].join('\n'));
    this.name = 'ConfigError';
    this.problems = kept;
    this.omitted = more;
  }
}

export function omittedLine(omitted: number): string {
  return `and ${omitted} more problem${omitted === 1 ? '' : 's'}`;
}

export function formatProblem(problem: ConfigProblem): string {
  let where = problem.source ?? '';
  if (where && problem.line !== undefined) {
    where += `:${problem.line}`;
    if (problem.column !== undefined) where += `:${problem.column}`;
  }
  const key = problem.key ? `${problem.key}: ` : '';
  return `${where ? `${where}: ` : ''}${key}${problem.message}`;
}
