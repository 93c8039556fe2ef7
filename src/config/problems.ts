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

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
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
