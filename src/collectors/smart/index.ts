import { parseDuration, DURATION_PATTERN } from '../../config/duration.js';
import { execFile } from '../../exec.js';
import type { CollectorDefinition, OptionSchema } from '../types.js';
import { SmartCollector, type SmartReading } from './collector.js';
import { parseDeviceSpec } from './devices.js';
import { registerSmartMetrics } from './metrics.js';
import { ReplaySource } from './replay.js';
import { Smartctl } from './smartctl.js';

const stringList = (description: string): OptionSchema => ({ type: 'array', items: { type: 'string' }, description, default: [] });
const duration = (description: string, def: string): OptionSchema => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  description: 'a duration like 15s, 1m30s or 500ms',
  $comment: description,
  default: def,
});

const regexProblems = (options: Readonly<Record<string, unknown>>) =>
  (['include', 'exclude'] as const).flatMap((key) =>
    ((options[key] ?? []) as string[]).flatMap((pattern, i) => {
      try {
        new RegExp(pattern);
        return [];
      } catch (err) {
        return [{ key: `${key}[${i}]`, message: `is not a regular expression: ${(err as Error).message}` }];
      }
    }),
  );

export const smartCollector: CollectorDefinition<SmartReading> = {
  name: 'smart',
  description: 'disk SMART data through smartctl (never wakes a sleeping disk)',
  defaults: { enabled: true, interval: '5m', timeout: '4m' },
  options: {
    smartctl_path: { type: 'string', description: 'the smartctl program (smartmontools >= 7.0)', default: 'smartctl' },
    scan: { type: 'boolean', description: 'find devices with smartctl --scan-open', default: true },
    rescan_interval: duration('how often to look for new or removed devices', '1h'),
    devices: stringList('devices to read besides the scanned ones: "/dev/sda", "/dev/sdb;sat", "/dev/bus/0;megaraid,1"'),
    include: stringList('regular expressions: read only scanned devices whose path matches one (empty: all)'),
    exclude: stringList('regular expressions: skip scanned devices whose path matches one'),
    command_timeout: duration('kill one smartctl call (and its process group) after this long', '30s'),
    max_concurrency: { type: 'integer', minimum: 1, maximum: 64, description: 'smartctl processes at once', default: 2 },
    standby_max_skips: {
      type: 'integer',
      minimum: 0,
      description: 'read a sleeping disk anyway after this many skipped rounds (smartd -n standby,N); 0 never skips',
      default: 24,
    },
    max_output_bytes: { type: 'integer', minimum: 65536, description: 'cut off smartctl output past this size', default: 8 * 1024 * 1024 },
    replay: { type: 'string', description: 'read recorded smartctl JSON from this directory instead of running smartctl', default: '' },
  },
  flagAliases: { replay: 'smart.replay' },
  check: regexProblems,
  create({ settings, logger }) {
    const o = settings.options as {
      smartctl_path: string;
      scan: boolean;
      rescan_interval: string;
      devices: string[];
      include: string[];
      exclude: string[];
      command_timeout: string;
      max_concurrency: number;
      standby_max_skips: number;
      max_output_bytes: number;
      replay: string;
    };
    const source = o.replay
      ? new ReplaySource(o.replay)
      : new Smartctl({ path: o.smartctl_path, timeoutMs: parseDuration(o.command_timeout), maxOutputBytes: o.max_output_bytes }, execFile);
    return new SmartCollector(
      {
        scan: o.replay ? true : o.scan,
        devices: o.replay ? [] : o.devices.map(parseDeviceSpec),
        include: o.include.map((p) => new RegExp(p)),
        exclude: o.exclude.map((p) => new RegExp(p)),
        // A replay directory is cheap to list: pick up added recordings every round.
        rescanIntervalMs: o.replay ? 0 : parseDuration(o.rescan_interval),
        maxConcurrency: o.max_concurrency,
        standbyMaxSkips: o.standby_max_skips,
      },
      source,
      logger,
    );
  },
  registerMetrics: registerSmartMetrics,
};
