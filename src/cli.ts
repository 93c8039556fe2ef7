#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COLLECTORS } from './collectors/index.js';
import { SPLITS } from './predict/evaluate/split.js';
import { buildSchema, flagName, leaves, type Leaf } from './config/schema.js';
import { ConfigError, formatProblem, omittedLine } from './config/problems.js';
import { switches, switchValues, UsageError } from './cli-switches.js';
import { runDaemon } from './run.js';
import { loadRuntimeConfig } from './runtime-config.js';
import type { BalanceContext } from './balance/command.js';

/** sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a restart loop on it. */
export const EXIT_CONFIG = 78;
/** sysexits.h EX_USAGE: only the balance commands, which scripts run, tell usage from configuration. */
const EXIT_USAGE = 64;

const CONFIG_LEAVES = leaves(buildSchema(COLLECTORS));

/** A config key's flag and the other spellings it answers to (its `--no-` form, node_exporter's `--collector.pressure`). */
interface ConfigFlag {
  leaf: Leaf;
  option: Option;
  aliases: Option[];
}

/** One spelling of a flag: `--name <value>`, or a switch and its `--no-` form (hidden: the help names it). */
function flagOptions(name: string, leaf: Leaf, description: string): { option: Option; negation?: Option } {
  if (leaf.type === 'boolean') return { option: new Option(`--${name}`, description), negation: new Option(`--no-${name}`).hideHelp() };
  if (leaf.type === 'array') return { option: new Option(`--${name} <values...>`, `${description}; repeat the flag or separate by commas`) };
  return { option: new Option(`--${name} <value>`, description) };
}

/** Every config key as a flag: `--web.listen-address`, `--collector.pressure.interval`, … */
const CONFIG_FLAGS: ConfigFlag[] = CONFIG_LEAVES.map((leaf) => {
  const alternatives: string[] = [];
  // node_exporter's spelling too: --collector.pressure / --no-collector.pressure.
  if (leaf.path[0] === 'collector' && leaf.path[2] === 'enabled') alternatives.push(flagName(leaf.path.slice(0, 2)));
  const extra = COLLECTORS.find((c) => c.name === leaf.path[1])?.flagAliases?.[leaf.path[2] ?? ''];
  if (leaf.path[0] === 'collector' && extra) alternatives.push(extra);
  const spellings = leaf.type === 'boolean' ? [...alternatives, ...[flagName(leaf.path), ...alternatives].map((a) => `no-${a}`)] : alternatives;
  const also = spellings.length === 0 ? '' : `; also ${spellings.map((a) => `--${a}`).join(', ')}`;
  const { option, negation } = flagOptions(flagName(leaf.path), leaf, `${leaf.help} (default ${JSON.stringify(leaf.default)})${also}`);
  option.helpGroup(leaf.path[0] === 'collector' ? 'Collectors:' : 'Configuration:');
  const aliases = alternatives.flatMap((name) => {
    const spelling = flagOptions(name, leaf, '');
    return [spelling.option.hideHelp(), ...(spelling.negation ? [spelling.negation] : [])];
  });
  return { leaf, option, aliases: [...(negation ? [negation] : []), ...aliases] };
});

/** The parsed options → the flags loadConfig wants, keyed by flag name; unset flags stay absent. */
function configFlags(opts: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const { leaf, option, aliases } of CONFIG_FLAGS) {
    // The config key's own spelling wins over an alias.
    const value = [option, ...aliases].map((o) => opts[o.attributeName()]).find((v) => v !== undefined);
    if (value === undefined) continue;
    flags[flagName(leaf.path)] = Array.isArray(value) ? value.flatMap((v) => String(v).split(',')).filter((v) => v !== '') : value;
  }
  return flags;
}

function reportConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    const total = err.problems.length + err.omitted;
    process.stderr.write(`harbinger: invalid configuration (${total} problem${total > 1 ? 's' : ''}):\n`);
    for (const problem of err.problems) process.stderr.write(`  ${formatProblem(problem)}\n`);
    if (err.omitted > 0) process.stderr.write(`  ${omittedLine(err.omitted)}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

/** What every command that reads the configuration gets: the file and the config flags. */
function configInput(command: Command) {
  const opts = command.optsWithGlobals();
  return { collectors: COLLECTORS, configFile: opts.config as string | undefined, flags: configFlags(opts), env: process.env };
}

function probability(text: string): number {
  const p = Number(text);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError('Give a probability between 0 and 1, exclusive.');
  return p;
}

function seconds(text: string): number {
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0) throw new InvalidArgumentError('Give a number of seconds.');
  return s;
}

/** The help of a command that reads the configuration points at the flags, which are the root's. */
const CONFIG_HELP = '\nIt reads the configuration file, env vars and the configuration flags: see harbinger --help.';

function program(): Command {
  const root = new Command('harbinger')
    .description('warns before a database host\'s hardware fails: SMART, pressure and query latency as metrics, disk failure predictions, a load-balancer weight')
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(`harbinger: ${message.replace(/^error: /, '')}`) })
    .configureHelp({ helpWidth: Math.min(120, process.stdout.columns ?? 100) })
    .addOption(new Option('--config <file>', 'configuration file (default /etc/harbinger/harbinger.yml, if it exists)').helpGroup('Configuration:'));
  for (const flag of CONFIG_FLAGS) for (const option of [flag.option, ...flag.aliases]) root.addOption(option);

  root
    .command('run')
    .addHelpText('after', CONFIG_HELP)
    .description('run the agent in the foreground (as systemd does)')
    .action(async (_opts, command: Command) => {
      const load = () => loadRuntimeConfig(configInput(command));
      const initial = await load().catch(reportConfigError);
      await runDaemon(initial, load);
    });

  root
    .command('collector')
    .addHelpText('after', CONFIG_HELP)
    .description('run the central collector in the foreground: fleet state from MQTT, the maintenance schedule (JSON, CSV, iCalendar), the fleet page')
    .action(async (_opts, command: Command) => {
      const { loadFleetRuntime } = await import('./fleet/runtime.js');
      const { config, runtime } = await loadFleetRuntime(configInput(command)).catch(reportConfigError);
      const { runCollector } = await import('./fleet/run.js');
      await runCollector(config, runtime);
    });

  root
    .command('demo')
    .description('a demo on any machine: an embedded MQTT broker, a collector, and a cluster of three agents replaying disks of which two fail: one drain granted, one deferred; Ctrl-C stops it')
    .addOption(new Option('--interval <seconds>', 'seconds between replayed SMART rounds').default(5).argParser(seconds))
    .action(async (opts: { interval: number }) => {
      const { runDemo } = await import('./demo/run.js');
      await runDemo({ intervalSeconds: Math.max(1, Math.round(opts.interval)) });
    });

  root
    .command('check-config')
    .addHelpText('after', CONFIG_HELP)
    .description('validate the configuration (file, env, flags) and exit: 0 valid, 78 invalid')
    .addOption(
      new Option('--for <command>', 'the command it is for: `harbinger run` or `harbinger collector` (a broker URL, its web config)').choices(['agent', 'collector']).default('agent'),
    )
    .action(async (opts: { for: string }, command: Command) => {
      if (opts.for === 'collector') {
        const { loadFleetRuntime } = await import('./fleet/runtime.js');
        const { config } = await loadFleetRuntime(configInput(command)).catch(reportConfigError);
        process.stdout.write(`configuration is valid for the collector (${config.file ?? 'no file: defaults, env and flags'})\n`);
        return;
      }
      const { config } = await loadRuntimeConfig(configInput(command)).catch(reportConfigError);
      process.stdout.write(`configuration is valid (${config.file ?? 'no file: defaults, env and flags'})\n`);
    });

  root
    .command('check')
    .addHelpText('after', CONFIG_HELP)
    .description('collect once and print every disk with its risk level, and the host pressure; exit 0 ok/watch, 1 degraded, 2 failing, 3 unknown')
    .option('--json', 'one JSON object instead of the table')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const runtime = await loadRuntimeConfig(configInput(command)).catch(reportConfigError);
      // Each command loads its own modules: the daemon should not carry evaluate's or check's code.
      const { CHECK_EXIT, formatCheck, runCheck } = await import('./check.js');
      const report = await runCheck(runtime, COLLECTORS);
      process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatCheck(report));
      process.exitCode = CHECK_EXIT[report.status];
    });

  root
    .command('evaluate')
    .description('replay Backblaze SMART CSVs (daily, intervals or single-day snapshots; .csv or .csv.gz) through the predictor and the baselines: drive-level TPR, FPR, lead time')
    .argument('<files...>', 'Backblaze CSV files')
    .option('--json', 'one JSON object instead of the table')
    .addOption(new Option('--split <side>', 'score all drives, or only the held-out (holdout) or tuning (train) side of the by-drive split').choices(SPLITS).default('all'))
    .option('--by-model', 'also the figures per drive model')
    .addOption(
      new Option('--alarm-probability <p>', "score with the alarm (degraded) at this probability, as the agent's predict.alarm_probability (default: the model's own cut)").argParser(
        probability,
      ),
    )
    .option('--model <weights>', 'score this model file (written by scripts/train-model.mjs --out) instead of the shipped model')
    .action(async (files: string[], opts: { json?: boolean; split: string; byModel?: boolean; alarmProbability?: number; model?: string }) => {
      const { evaluateFiles, formatReport, parseSplit, DataFileError } = await import('./predict/evaluate/run.js');
      try {
        // The model file's reader (and its schema validator) only when there is a file to read.
        const model = opts.model === undefined ? {} : { model: await (await import('./predict/evaluate/model-file.js')).readModelFile(opts.model), modelFile: opts.model };
        const report = await evaluateFiles(files, {
          json: Boolean(opts.json),
          progress: process.stderr.isTTY === true,
          split: parseSplit(opts.split),
          byModel: Boolean(opts.byModel),
          ...(opts.alarmProbability === undefined ? {} : { alarmProbability: opts.alarmProbability }),
          ...model,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      } catch (err) {
        // A data or model file that cannot be read: say which and why, without a stack.
        if (!(err instanceof DataFileError)) throw err;
        if (process.stderr.isTTY) process.stderr.write('\n');
        process.stderr.write(`harbinger evaluate: ${err.message}\n`);
        process.exit(1);
      }
    });

  const balance = root
    .command('balance')
    .description("the operator's override of the load-balancer decision: status, drain, hold, resume (run as root or as the agent's user)")
    // A wrong balance command line is a usage error (64), not a configuration one: scripts tell them apart.
    .exitOverride((err) => {
      throw err.exitCode === 0 ? err : new CommanderError(EXIT_USAGE, err.code, err.message);
    });
  const balanceAction =
    (act: (ctx: BalanceContext, opts: Record<string, unknown>) => Promise<void>) =>
    async (opts: Record<string, unknown>, command: Command): Promise<void> => {
      const runtime = await loadRuntimeConfig(configInput(command)).catch(reportConfigError);
      const { balanceContext } = await import('./balance/command-context.js');
      const { BalanceCommandError } = await import('./balance/command.js');
      try {
        await act(balanceContext(runtime, process.argv.slice(2)), opts);
      } catch (err) {
        if (!(err instanceof BalanceCommandError)) throw err;
        process.stderr.write(`harbinger balance: ${err.message}\n`);
        process.exit(err.exitCode);
      }
    };
  balance
    .command('status')
    .addHelpText('after', CONFIG_HELP)
    .description('the override in force (or none) and the running agent\'s decision')
    .option('--json', 'one JSON object')
    .action(balanceAction(async (ctx, opts) => (await import('./balance/command.js')).overrideStatus({ json: opts.json === true }, ctx)));
  for (const [mode, what] of [
    ['drain', 'take the host out of the pool (no new connections) whatever harbinger decides'],
    ['hold', 'keep the host up at full weight whatever harbinger decides (maintenance, a known false alarm); a database that does not answer still takes it down'],
  ] as const) {
    balance
      .command(mode)
      .addHelpText('after', CONFIG_HELP)
      .description(`${what}; replaces any override`)
      .option('--reason <text>', 'why (required): one line, shown in /health and to HAProxy')
      .option('--for <duration>', 'end it by itself after 30m, 2h, 1h30m, 7d…; default: until "harbinger balance resume"')
      .action(
        balanceAction(async (ctx, opts) =>
          (await import('./balance/command.js')).setOverride(mode, { reason: opts.reason as string | undefined, for: opts.for as string | undefined }, ctx),
        ),
      );
  }
  balance
    .command('resume')
    .addHelpText('after', CONFIG_HELP)
    .description('remove the override: harbinger decides again')
    .action(balanceAction(async (ctx) => (await import('./balance/command.js')).resumeOverride(ctx)));

  const smart = root.command('smart').description('SMART tools (smart inspect FILE.json…)');
  smart
    .command('inspect')
    .description('parse recorded `smartctl --json` output: one JSON line per file; exit 0 when every file parsed')
    .argument('<files...>', 'smartctl --json output files')
    .action(async (files: string[]) => {
      const { inspectFiles } = await import('./collectors/smart/inspect.js');
      const { lines, ok } = await inspectFiles(files);
      for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
      process.exitCode = ok ? 0 : 1;
    });
  return root;
}

async function main(): Promise<void> {
  try {
    const root = program();
    await root.parseAsync(switchValues(process.argv.slice(2), switches(root)), { from: 'user' });
  } catch (err) {
    // --help asked for: done. Anything else on the command line (an unknown flag, a bad value,
    // no command) is a configuration problem too: same exit code as an invalid file. The parser
    // has printed its own message.
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return;
      if (err.code === 'commander.help') process.stderr.write('harbinger: name a command (listed above)\n');
    } else if (err instanceof UsageError) process.stderr.write(`harbinger: ${err.message}\n`);
    else throw err;
    process.stderr.write('Run "harbinger --help" for the flags.\n');
    process.exit(err instanceof CommanderError && err.exitCode === EXIT_USAGE ? EXIT_USAGE : EXIT_CONFIG);
  }
}

main().catch((err) => {
  process.stderr.write(`harbinger: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
