/**
 * Switches written with a value. The command-line parser (commander) takes a switch bare
 * (`--collector.smart.enabled`, `--no-collector.smart.enabled`), but a setting copied from the
 * file or an env var is written `--collector.smart.enabled=false`; this turns it into what the
 * parser takes before it parses.
 */
import type { Command } from 'commander';

/** A command line the parser would misread; said before parsing, as the parser's own errors are. */
export class UsageError extends Error {}

/** The switches of `command` and its subcommands by long flag (`--json`, `--collector.smart.enabled`), each with whether it has a `--no-` form. */
export function switches(command: Command, out = new Map<string, boolean>()): Map<string, boolean> {
  for (const option of command.options) {
    if (!option.long || option.required || option.optional) continue;
    if (option.negate) out.set(`--${option.long.slice('--no-'.length)}`, true);
    else if (!out.has(option.long)) out.set(option.long, false);
  }
  for (const sub of command.commands) switches(sub, out);
  return out;
}

/**
 * A switch given a value, `--collector.smart.enabled=false` or `--collector.smart.enabled false`
 * (as the setting is written in a file or an env var), becomes the bare switch, its `--no-` form,
 * or nothing (a switch without one, `--json=false`): the parser takes switches bare.
 */
export function switchValues(args: readonly string[], known: ReadonlyMap<string, boolean>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const match = /^--(no-)?([^=]+?)(?:=(.*))?$/.exec(arg);
    const flag = `--${match?.[2]}`;
    if (!match || !known.has(flag)) {
      out.push(arg);
      continue;
    }
    let value = match[3];
    if (value === undefined && (args[i + 1] === 'true' || args[i + 1] === 'false')) value = args[++i];
    if (value === undefined) {
      out.push(arg);
      continue;
    }
    if (value !== 'true' && value !== 'false') throw new UsageError(`${flag} is a switch: give it alone, with =true or =false, or as --no-${match[2]}, not =${value}`);
    const on = (value === 'true') === (match[1] === undefined);
    if (on) out.push(flag);
    else if (known.get(flag)) out.push(`--no-${match[2]}`);
  }
  return out;
}
