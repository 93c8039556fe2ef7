import test from 'ava';
import { billionLaughs, load, problems } from '../helpers/config.js';
import { repoPath, writeTemp } from '../helpers/tmp.js';
import { MODEL } from '../../src/predict/model.js';
import { ConfigError, formatProblem, MAX_PROBLEMS } from '../../src/config/problems.js';
import { MAX_ALIAS_COUNT } from '../../src/config/yaml-source.js';



test('defaults apply when nothing is set', async (t) => {
  const config = await load({ configFile: await writeTemp(t, 'h.yml', '') });
  t.deepEqual(config.web.listenAddress, { port: 10190 });
  t.is(config.web.configFile, undefined);
  t.is(config.log.level, 'info');
  t.deepEqual(config.path, { procfs: '/proc', sysfs: '/sys' });
  t.deepEqual(config.collector.pressure, { enabled: true, intervalMs: 15_000, timeoutMs: 5_000, options: { units: [] } });
  t.true(Object.isFrozen(config) && Object.isFrozen(config.collector.pressure));
});

test('precedence: flags > env > file > defaults, key by key', async (t) => {
  const file = await writeTemp(
    t,
    'h.yml',
    'web:\n  listen_address: "127.0.0.1:1111"\nlog:\n  level: debug\npath:\n  procfs: /file/proc\ncollector:\n  pressure:\n    interval: 30s\n',
  );
  const config = await load({
    configFile: file,
    env: { HARBINGER_WEB_LISTEN_ADDRESS: '127.0.0.1:2222', HARBINGER_LOG_LEVEL: 'warn', HARBINGER_COLLECTOR_PRESSURE_UNITS: 'a.service, b.service' },
    flags: { 'web.listen-address': '127.0.0.1:3333' },
  });
  t.deepEqual(config.web.listenAddress, { host: '127.0.0.1', port: 3333 }, 'flag beats env and file');
  t.is(config.log.level, 'warn', 'env beats file');
  t.is(config.path.procfs, '/file/proc', 'file beats default');
  t.is(config.path.sysfs, '/sys', 'default when nothing sets it');
  t.is(config.collector.pressure!.intervalMs, 30_000);
  t.deepEqual(config.collector.pressure!.options.units, ['a.service', 'b.service'], 'env lists are comma-separated');
});

test('env and flag values are coerced to the schema type', async (t) => {
  const config = await load({
    env: { HARBINGER_COLLECTOR_PRESSURE_ENABLED: 'false', HARBINGER_CONFIG: await writeTemp(t, 'h.yml', '{}') },
    flags: { 'collector.host.enabled': false, 'collector.pressure.units': ['x.service'] },
  });
  t.false(config.collector.pressure!.enabled);
  t.false(config.collector.host!.enabled);
  t.deepEqual(config.collector.pressure!.options.units, ['x.service']);
});

test('HARBINGER_CONFIG names the file when --config does not', async (t) => {
  const file = await writeTemp(t, 'h.yml', 'log:\n  level: error\n');
  const config = await load({ env: { HARBINGER_CONFIG: file } });
  t.is(config.file, file);
  t.is(config.log.level, 'error');
});

test('every problem is listed at once, each with its key, file and line', async (t) => {
  const file = await writeTemp(
    t,
    'bad.yml',
    [
      'web:',
      '  listen_adress: ":1"', // typo → unknown key (line 2)
      'log:',
      '  level: loud', // bad enum (line 4)
      'collector:',
      '  pressure:',
      '    interval: often', // not a duration (line 7)
      '    units: postgresql.service', // not a list (line 8)
      '  presure: {}', // unknown collector (line 9)
      '',
    ].join('\n'),
  );
  const found = await problems(load({ configFile: file }));
  t.is(found.length, 5, found.join('\n'));
  t.true(found.some((p) => p.startsWith(`${file}:2:3: web.listen_adress: unknown key "listen_adress"; did you mean "listen_address"?`)), found.join('\n'));
  t.true(found.some((p) => p.startsWith(`${file}:4:3: log.level: must be one of: "trace"`) && p.endsWith('got "loud"')), found.join('\n'));
  t.true(found.some((p) => p.startsWith(`${file}:7:5: collector.pressure.interval: must be a duration like 15s`)), found.join('\n'));
  t.true(found.some((p) => p.startsWith(`${file}:8:5: collector.pressure.units: must be an array`)), found.join('\n'));
  t.true(found.some((p) => p.startsWith(`${file}:9:3: collector.presure: unknown key "presure"; did you mean "pressure"?`)), found.join('\n'));
});

test('a problem in an env var or a flag names the variable or the flag', async (t) => {
  const found = await problems(
    load({
      configFile: await writeTemp(t, 'h.yml', ''),
      env: { HARBINGER_LOG_LEVEL: 'chatty', HARBINGER_WEB_LISTEN_ADRESS: ':1' },
      flags: { 'collector.pressure.timeout': 'soon' },
    }),
  );
  t.true(found.includes('env HARBINGER_WEB_LISTEN_ADRESS: is not a harbinger setting (unset it, or check its spelling)'), found.join('\n'));
  t.true(found.some((p) => p.startsWith('env HARBINGER_LOG_LEVEL: log.level: must be one of')), found.join('\n'));
  t.true(found.some((p) => p.startsWith('flag --collector.pressure.timeout: collector.pressure.timeout: must be a duration')), found.join('\n'));
});

test('semantic checks: timeout longer than interval, too short interval, bad port, bad unit name', async (t) => {
  const file = await writeTemp(
    t,
    'h.yml',
    'web:\n  listen_address: ":99999"\ncollector:\n  pressure:\n    interval: 10s\n    timeout: 20s\n    units: ["not a unit"]\n  host:\n    interval: 500ms\n',
  );
  // Schema problems come first; the unit name is a schema problem, so fix it to reach the rest.
  const first = await problems(load({ configFile: file }));
  t.true(first.some((p) => p.includes('collector.pressure.units[0]: must match')), first.join('\n'));
  const file2 = await writeTemp(t, 'h.yml', 'web:\n  listen_address: ":99999"\ncollector:\n  pressure:\n    interval: 10s\n    timeout: 20s\n  host:\n    interval: 500ms\n');
  const found = await problems(load({ configFile: file2 }));
  t.deepEqual(found, [
    `${file2}:2:3: web.listen_address: port 99999 is out of range 0-65535`,
    `${file2}:6:5: collector.pressure.timeout: must not be longer than the interval (10s), got "20s"`,
    `${file2}:8:5: collector.host.interval: must be at least 1s, got "500ms"`,
  ]);
});

test('YAML syntax errors and non-mapping documents are problems with a line', async (t) => {
  const syntax = await writeTemp(t, 'h.yml', 'web:\n  listen_address: ":1\nlog: [\n');
  const found = await problems(load({ configFile: syntax }));
  t.true(found.length >= 1);
  t.true(found.every((p) => p.startsWith(`${syntax}:`) && p.includes('invalid YAML')), found.join('\n'));
  const scalar = await writeTemp(t, 'h.yml', 'just a string\n');
  t.deepEqual(await problems(load({ configFile: scalar })), [`${scalar}:1: the file must be a YAML mapping of keys (like \`web:\`)`]);
  const duplicate = await writeTemp(t, 'h.yml', 'log:\n  level: info\nlog:\n  level: debug\n');
  t.regex((await problems(load({ configFile: duplicate })))[0]!, /:3:1: invalid YAML: Map keys must be unique/);
});

test('an explicit config file that does not exist is an error', async (t) => {
  t.deepEqual(await problems(load({ configFile: '/nonexistent/harbinger.yml' })), ['/nonexistent/harbinger.yml: cannot read the file (ENOENT)']);
});

test('an empty section (`pressure:` with nothing under it) means its defaults', async (t) => {
  const config = await load({ configFile: await writeTemp(t, 'h.yml', 'collector:\n  pressure:\nlog:\n') });
  t.is(config.collector.pressure!.intervalMs, 15_000);
  t.is(config.log.level, 'info');
});

test('the example config shipped for /etc/harbinger is valid and matches the defaults', async (t) => {
  const example = await load({ configFile: repoPath('examples/harbinger.yml') });
  const defaults = await load({ configFile: await writeTemp(t, 'h.yml', '') });
  t.deepEqual({ ...example, file: undefined }, { ...defaults, file: undefined });
});

test('a collector\'s own checks name the key and where the value came from', async (t) => {
  const file = await writeTemp(t, 'h.yml', 'collector:\n  smart:\n    exclude: ["ok", "(unclosed"]\n');
  const found = await problems(load({ configFile: file, flags: { 'collector.smart.include': ['(['] } }));
  t.is(found.length, 2, found.join('\n'));
  t.regex(found[0]!, /^flag --collector\.smart\.include: collector\.smart\.include\[0\]: is not a regular expression/);
  t.regex(found[1]!, new RegExp(`^${file}:3:\\d+: collector\\.smart\\.exclude\\[1\\]: is not a regular expression`));
});

test("predict.alarm_probability: the model's own cut by default; set by file, env or flag; a probability strictly between 0 and 1", async (t) => {
  t.deepEqual((await load({})).predict, { alarmProbability: MODEL.operatingPoint.degraded });
  t.is((await load({ configFile: await writeTemp(t, 'h.yml', 'predict:\n  alarm_probability: 0.02\n') })).predict.alarmProbability, 0.02);
  t.is((await load({ env: { HARBINGER_PREDICT_ALARM_PROBABILITY: '0.1' } })).predict.alarmProbability, 0.1);
  t.is((await load({ flags: { 'predict.alarm-probability': '0.005' } })).predict.alarmProbability, 0.005);
  t.deepEqual(await problems(load({ flags: { 'predict.alarm-probability': '0' } })), ['flag --predict.alarm-probability: predict.alarm_probability: must be > 0, got 0']);
  t.deepEqual(await problems(load({ env: { HARBINGER_PREDICT_ALARM_PROBABILITY: '1' } })), ['env HARBINGER_PREDICT_ALARM_PROBABILITY: predict.alarm_probability: must be < 1, got 1']);
});

test('a file of 32,000 unknown keys is refused with its first 50 problems and a count of the rest', async (t) => {
  // Each problem used to scan the whole mapping (and the parser compared each key with all the
  // keys before it): minutes of a blocked agent on SIGHUP. Now one pass, and a bounded report.
  const text = Array.from({ length: 32_000 }, (_, i) => `k${i}: 1\n`).join('');
  const err = await load({ configFile: await writeTemp(t, 'h.yml', text) }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.true(err instanceof ConfigError);
  const { problems: kept, omitted, message } = err as ConfigError;
  t.is(kept.length, MAX_PROBLEMS);
  t.is(omitted, 32_000 - MAX_PROBLEMS);
  t.is(formatProblem(kept[0]!), `${kept[0]!.source}:1:1: k0: unknown key "k0" (known keys here: web, log, path, state_dir, predict, mqtt, balance, fleet, collector)`);
  t.is(kept[49]!.line, 50, 'the first problems in file order');
  t.regex(message, /\nand 31950 more problems$/);
});

test('a duplicate key deep in a large mapping is still found, with its line', async (t) => {
  const text = `log:\n  level: info\n${Array.from({ length: 2_000 }, (_, i) => `k${i}: 1\n`).join('')}k7: 2\n`;
  const file = await writeTemp(t, 'h.yml', text);
  t.deepEqual(await problems(load({ configFile: file })), [`${file}:2003:1: invalid YAML: Map keys must be unique`]);
});

test('nested aliases ("billion laughs") are refused as a configuration problem naming the file', async (t) => {
  const file = await writeTemp(t, 'h.yml', billionLaughs());
  const lines = await problems(load({ configFile: file }));
  t.deepEqual(lines, [`${file}: uses more than ${MAX_ALIAS_COUNT} aliases (alias expansion); refused`]);
});

test('a few aliases, as a sysadmin shares a block, still load', async (t) => {
  const file = await writeTemp(t, 'h.yml', 'log: &l\n  level: debug\npredict: {}\nx-unused: *l\n');
  t.regex((await problems(load({ configFile: file })))[0]!, /x-unused: unknown key/);
  const ok = await load({ configFile: await writeTemp(t, 'ok.yml', 'path: &p\n  procfs: /p\n  sysfs: /s\nlog:\n  level: &lv warn\n') });
  t.is(ok.log.level, 'warn');
});
