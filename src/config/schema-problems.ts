import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigProblem } from './problems.js';

/** Where a key's value came from, for the error message. */
export interface Origin {
  source?: string;
  line?: number;
  column?: number;
}

/**
 * One Ajv instance setup for every schema harbinger validates (its own config, web-config.yml):
 * all errors at once, no coercion (coercion happens, on purpose, only for env and flags), and
 * `errorMessage`-free: messages are written here from the error keyword, so they read the same
 * everywhere.
 */
export function compileSchema<T>(schema: object): ValidateFunction<T> {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, useDefaults: false });
  return ajv.compile<T>(schema);
}

/** Unknown keys that get a "did you mean" guess. */
const GUESS_LIMIT = 1000;

/** Turns Ajv errors into problems that name the dotted key and where its value came from. */
export function schemaProblems(
  errors: readonly ErrorObject[] | null | undefined,
  originOf: (path: string[]) => Origin,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  let unknown = 0;
  for (const error of errors ?? []) {
    const path = pointerToPath(error.instancePath);
    let keyPath = path;
    let message: string;
    switch (error.keyword) {
      case 'additionalProperties': {
        const extra = String((error.params as { additionalProperty: string }).additionalProperty);
        keyPath = [...path, extra];
        const known = Object.keys(
          ((error.parentSchema as { properties?: Record<string, unknown> }).properties) ?? {},
        );
        // A guess for a typo; a file of thousands of unknown keys is not typos, and is not worth
        // thousands of edit distances (only its first problems are shown anyway).
        const guess = ++unknown <= GUESS_LIMIT ? closest(extra, known) : undefined;
        message =
          `unknown key "${extra}"` +
          (guess ? `; did you mean "${guess}"?` : '') +
          (known.length ? ` (known keys here: ${known.join(', ')})` : '');
        break;
      }
      case 'type': {
        // A duration written as a bare number (`interval: 15`) reads better as "needs a unit".
        const parent = error.parentSchema as { pattern?: string; description?: string };
        message = parent.pattern && parent.description
          ? `must be ${parent.description}`
          : `must be ${article((error.params as { type: string }).type)}`;
        break;
      }
      case 'enum':
        message = `must be one of: ${((error.params as { allowedValues: unknown[] }).allowedValues)
          .map((v) => JSON.stringify(v))
          .join(', ')}`;
        break;
      case 'pattern': {
        const hint = (error.parentSchema as { description?: string }).description;
        message = hint ? `must be ${hint}` : `must match ${(error.params as { pattern: string }).pattern}`;
        break;
      }
      case 'required':
        keyPath = [...path, (error.params as { missingProperty: string }).missingProperty];
        message = 'is required';
        break;
      default:
        message = error.message ?? `fails ${error.keyword}`;
    }
    const key = formatKey(keyPath);
    const dedup = `${key}\0${message}`;
    if (seen.has(dedup)) continue;
    seen.add(dedup);
    if (error.keyword !== 'additionalProperties' && error.keyword !== 'required' && error.data !== undefined) {
      message += `, got ${JSON.stringify(error.data)}`;
    }
    problems.push({ key, message, ...originOf(keyPath) });
  }
  // In file order, so the list reads top to bottom like the file being fixed.
  return problems.sort((a, b) =>
    (a.source ?? '').localeCompare(b.source ?? '') || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0),
  );
}

/** ['collector', 'db', 'targets', '1', 'driver'] → `collector.db.targets[1].driver` */
export function formatKey(path: readonly string[]): string {
  return path.reduce((key, part) => (/^[0-9]+$/.test(part) ? `${key}[${part}]` : key ? `${key}.${part}` : part), '');
}

function pointerToPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function article(type: string): string {
  const t = type.replace(/,/g, ' or ');
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** The known key nearest to a typo, if it is near enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(2, Math.floor(word.length / 3));
  const lower = word.toLowerCase();
  for (const c of candidates) {
    // The distance is at least the difference in length: no need to compute it for those.
    if (Math.abs(c.length - word.length) > limit) continue;
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
