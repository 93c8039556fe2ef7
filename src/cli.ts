#!/usr/bin/env node
import yargs, { type Argv, type Options } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { COLLECTORS } from './collectors/index.js';
import { SPLITS } from './predict/evaluate/split.js';
import { buildSchema, flagName, leaves } from './config/schema.js';
import { ConfigError, formatProblem } from './config/problems.js';
import { runDaemon } from './run.js';
import { loadRuntimeConfig } from './runtime-config.js';

/** sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 stops a restart loop on it. */
export const EXIT_CONFIG = 78;

const CONFIG_LEAVES = leaves(buildSchema(COLLECTORS));

/** Every config key as a flag: `--web.listen-address`, `--collector.pressure.interval`, … */
function withConfigFlags<T>(argv: Argv<T>): Argv<T> {
  let result = argv.option('config', {
    type: 'string',
    describe: 'configuration file (default /etc/harbinger/harbinger.yml, if it exists)',
    group: 'Configuration:',
  });
  for (const leaf of CONFIG_LEAVES) {
    const options: Options = {
      describe: `${leaf.help} (default ${JSON.stringify(leaf.default)})`,
      group: leaf.path[0] === 'collector' ? 'Collectors:' : 'Configuration:',
      type: leaf.type === 'boolean' ? 'boolean' : leaf.type === 'array' ? 'array' : 'string',
    };
    // node_exporter's spelling too: --collector.pressure / --no-collector.pressure.
    if (leaf.path[0] === 'collector' && leaf.path[2] === 'enabled') options.alias = flagName(leaf.path.slice(0, 2));
    const extra = COLLECTORS.find((c) => c.name === leaf.path[1])?.flagAliases?.[leaf.path[2] ?? ''];
    if (leaf.path[0] === 'collector' && extra) options.alias = extra;
    result = result.option(flagName(leaf.path), options);
  }
  return result;
}

/** yargs' parsed argv → the flags loadConfig wants; unset flags stay undefined. */
function configFlags(argv: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const leaf of CONFIG_LEAVES) {
    const value = argv[flagName(leaf.path)];
    if (value === undefined) continue;
    flags[flagName(leaf.path)] = Array.isArray(value) ? value.flatMap((v) => String(v).split(',')).filter((v) => v !== '') : value;
  }
  return flags;
}

function reportConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`harbinger: invalid configuration (${err.problems.length} problem${err.problems.length > 1 ? 's' : ''}):\n`);
    for (const problem of err.problems) process.stderr.write(`  ${formatProblem(problem)}\n`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}

async function main(): Promise<void> {
  await withConfigFlags(
    yargs(hideBin(process.argv))
      .scriptName('harbinger')
      .parserConfiguration({ 'dot-notation': false, 'camel-case-expansion': false, 'boolean-negation': true })
      .strict()
      .command(
        'run',
        'run the agent in the foreground (as systemd does)',
        () => {},
        async (argv) => {
          const load = () =>
            loadRuntimeConfig({ collectors: COLLECTORS, configFile: argv.config as string | undefined, flags: configFlags(argv), env: process.env });
          const initial = await load().catch(reportConfigError);
          await runDaemon(initial, load);
        },
      )
      .command(
        'collector',
        'run the central collector in the foreground: fleet state from MQTT, the maintenance schedule (JSON, CSV, iCalendar), the fleet page',
        () => {},
        async (argv) => {
          const { loadFleetRuntime } = await import('./fleet/runtime.js');
          const { config, runtime } = await loadFleetRuntime({
            collectors: COLLECTORS,
            configFile: argv.config as string | undefined,
            flags: configFlags(argv),
            env: process.env,
          }).catch(reportConfigError);
          const { runCollector } = await import('./fleet/run.js');
          await runCollector(config, runtime);
        },
      )
      .command(
        'demo',
        'a demo on any machine: an embedded MQTT broker, an agent replaying a disk that degrades, and a collector; Ctrl-C stops it',
        (y) => y.option('interval', { type: 'number', default: 5, describe: 'seconds between replayed SMART rounds' }),
        async (argv) => {
          const { runDemo } = await import('./demo/run.js');
          await runDemo({ intervalSeconds: Math.max(1, Math.round(argv.interval as number)) });
        },
      )
      .command(
        'check-config',
        'validate the configuration (file, env, flags) and exit: 0 valid, 78 invalid',
        (y) => y.option('for', { choices: ['agent', 'collector'], default: 'agent', describe: 'the command it is for: `harbinger run` or `harbinger collector` (a broker URL, its web config)' }),
        async (argv) => {
          if (argv.for === 'collector') {
            const { loadFleetRuntime } = await import('./fleet/runtime.js');
            const { config } = await loadFleetRuntime({ collectors: COLLECTORS, configFile: argv.config as string | undefined, flags: configFlags(argv), env: process.env }).catch(
              reportConfigError,
            );
            process.stdout.write(`configuration is valid for the collector (${config.file ?? 'no file: defaults, env and flags'})\n`);
            return;
          }
          const { config } = await loadRuntimeConfig({
            collectors: COLLECTORS,
            configFile: argv.config as string | undefined,
            flags: configFlags(argv),
            env: process.env,
          }).catch(reportConfigError);
          process.stdout.write(`configuration is valid (${config.file ?? 'no file: defaults, env and flags'})\n`);
        },
      )
      .command(
        'check',
        'collect once and print every disk with its risk level, and the host pressure; exit 0 ok/watch, 1 degraded, 2 failing, 3 unknown',
        (c) => c.option('json', { type: 'boolean', describe: 'one JSON object instead of the table' }),
        async (argv) => {
          const runtime = await loadRuntimeConfig({
            collectors: COLLECTORS,
            configFile: argv.config as string | undefined,
            flags: configFlags(argv),
            env: process.env,
          }).catch(reportConfigError);
          // Each command loads its own modules: the daemon should not carry evaluate's or check's code.
          const { CHECK_EXIT, formatCheck, runCheck } = await import('./check.js');
          const report = await runCheck(runtime, COLLECTORS);
          process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : formatCheck(report));
          process.exitCode = CHECK_EXIT[report.status];
        },
      )
      .command(
        'evaluate <files..>',
        "replay Backblaze SMART CSVs (daily, intervals or single-day snapshots; .csv or .csv.gz) through the predictor and the baselines: drive-level TPR, FPR, lead time",
        (c) =>
          c
            .positional('files', { type: 'string', array: true, demandOption: true })
            .option('json', { type: 'boolean', describe: 'one JSON object instead of the table' })
            .option('split', { choices: SPLITS, default: 'all', describe: 'score all drives, or only the held-out (holdout) or tuning (train) side of the by-drive split' })
            .option('by-model', { type: 'boolean', describe: 'also the figures per drive model' })
            .option('alarm-probability', { type: 'number', describe: "score with the alarm (degraded) at this probability, as the agent's predict.alarm_probability (default: the model's own cut)" })
            .check((a) => {
              const p = a['alarm-probability'];
              return p === undefined || (p > 0 && p < 1) ? true : `--alarm-probability must be a probability between 0 and 1 (exclusive), not ${p}`;
            }),
        async (argv) => {
          const { evaluateFiles, formatReport, parseSplit, DataFileError } = await import('./predict/evaluate/run.js');
          const report = await evaluateFiles(argv.files as string[], {
            json: Boolean(argv.json),
            progress: process.stderr.isTTY === true,
            split: parseSplit(String(argv.split)),
            byModel: Boolean(argv['by-model']),
            ...(argv['alarm-probability'] === undefined ? {} : { alarmProbability: argv['alarm-probability'] }),
          }).catch((err: unknown) => {
            // A file that cannot be read as Backblaze data: say which and why, without a stack.
            if (!(err instanceof DataFileError)) throw err;
            if (process.stderr.isTTY) process.stderr.write('\n');
            process.stderr.write(`harbinger evaluate: ${err.message}\n`);
            process.exit(1);
          });
          process.stdout.write(argv.json ? `${JSON.stringify(report)}\n` : formatReport(report));
        },
      )
      .command('smart', 'SMART tools (smart inspect FILE.json…)', (y) =>
        y
          .command(
            'inspect <files..>',
            'parse recorded `smartctl --json` output: one JSON line per file; exit 0 when every file parsed',
            (c) => c.positional('files', { type: 'string', array: true, demandOption: true }),
            async (argv) => {
              const { inspectFiles } = await import('./collectors/smart/inspect.js');
              const { lines, ok } = await inspectFiles(argv.files as string[]);
              for (const line of lines) process.stdout.write(`${JSON.stringify(line)}\n`);
              process.exitCode = ok ? 0 : 1;
            },
          )
          .demandCommand(1, 'name a smart command: inspect'),
      )
      .demandCommand(1, 'name a command: run, collector, demo, check, check-config, evaluate or smart inspect')
      .fail((message, err) => {
        if (err) throw err;
        // Unknown flags and bad flag syntax are configuration problems too: same exit code.
        process.stderr.write(`harbinger: ${message}\nRun "harbinger --help" for the flags.\n`);
        process.exit(EXIT_CONFIG);
      })
      .help()
      .version(false)
      .wrap(Math.min(120, process.stdout.columns ?? 100)),
  ).parseAsync();
}

main().catch((err) => {
  process.stderr.write(`harbinger: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
