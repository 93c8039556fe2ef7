import test from 'ava';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, installer, exposure, installEnv, run, unitSettings, verifyProblems, words } from './helpers/systemd.js';

// Compiled to dist/test/; ava runs from the repository root.
const REPO = process.cwd();
const UNIT = join(REPO, 'systemd/harbinger-collector.service');
const AGENT_UNIT = join(REPO, 'systemd/harbinger.service');
const DEFAULTS = join(REPO, 'systemd/harbinger-collector.default');
const INSTALL = join(REPO, 'scripts/install.sh');
const EXAMPLE = join(REPO, 'examples/harbinger.yml');
const LAUNCHER = join(REPO, 'bin/harbinger');
const STATE_DIR = '/var/lib/harbinger-collector';
/** Measured 1.1 with systemd 252 (the agent's unit: 2.2); a little room for other versions' weights. */
const MAX_EXPOSURE = 1.3;

const on = (v: string) => /^(yes|true|on|1)$/i.test(v);

test('systemd-analyze security rates the collector unit at most 1.3, below the agent unit', async (t) => {
  const [collector, agent] = await Promise.all([exposure(UNIT), exposure(AGENT_UNIT)]);
  if (collector.missing || agent.missing) {
    t.log('systemd-analyze is not installed, so the exposure level is not measured (apt-get install systemd)');
    t.pass();
    return;
  }
  if (collector.level === undefined) t.log(collector.output);
  t.truthy(collector.level, 'no "Overall exposure level" line (systemd-analyze >= 250 is needed for --offline)');
  t.log(`exposure level: collector ${collector.level} (at most ${MAX_EXPOSURE}), agent ${agent.level}`);
  if (collector.level! > MAX_EXPOSURE) t.log(collector.failing);
  t.true(collector.level! <= MAX_EXPOSURE);
  t.true(collector.level! < agent.level!, 'the collector needs less than the agent, so it gets less');
});

test('systemd-analyze verify finds nothing wrong with the collector unit but the binary not installed here', async (t) => {
  const problems = await verifyProblems(UNIT);
  if (problems === undefined) {
    t.log('systemd-analyze is not installed, so the unit is not verified (apt-get install systemd)');
    t.pass();
    return;
  }
  t.deepEqual(problems, []);
});

test('the collector unit runs as harbinger with its own state, no capabilities and no devices', async (t) => {
  const s = await unitSettings(UNIT);
  const one = (key: string) => {
    const values = s.get(key) ?? [];
    t.is(values.length, 1, `${key} should be set once`);
    return values[0];
  };
  t.is(one('Service.Type'), 'exec');
  t.is(one('Service.User'), 'harbinger');
  t.is(one('Service.Group'), 'harbinger');
  t.deepEqual(words(s.get('Service.SupplementaryGroups')), [], 'no group disk: it reads no disks');
  t.is(one('Service.ExecStart'), '/usr/lib/harbinger/bin/harbinger collector --config /etc/harbinger/harbinger.yml $HARBINGER_COLLECTOR_OPTS');
  t.is(one('Service.EnvironmentFile'), '-/etc/default/harbinger-collector');
  t.false(s.has('Service.ExecReload'), 'SIGHUP does not reload the collector');
  t.is(one('Service.Restart'), 'on-failure');
  t.true(words(s.get('Service.RestartPreventExitStatus')).includes('78'));
  // Its own state directory, never the agent's, and the collector told to use it.
  t.is(one('Service.StateDirectory'), 'harbinger-collector');
  t.true(words(s.get('Service.Environment')).includes(`HARBINGER_STATE_DIR=${STATE_DIR}`));
  t.is(one('Service.UMask'), '0077');
  // Network first; the broker and PostgreSQL, when local, are ordered before it but not pulled in.
  t.true(words(s.get('Unit.Wants')).includes('network-online.target'));
  for (const u of ['network-online.target', 'mosquitto.service', 'postgresql.service']) t.true(words(s.get('Unit.After')).includes(u), `After=${u}`);
  for (const key of ['Unit.Requires', 'Unit.Requisite', 'Unit.BindsTo']) t.false(s.has(key), `no ${key}`);
  // No capabilities at all.
  t.deepEqual(s.get('Service.CapabilityBoundingSet'), [''], 'an empty bounding set');
  t.deepEqual(words(s.get('Service.AmbientCapabilities')), []);
  t.is(one('Service.NoNewPrivileges'), 'yes');
  t.true(on(one('Service.PrivateDevices')!));
  t.true(on(one('Service.PrivateUsers')!));
  t.is(one('Service.ProtectProc'), 'invisible');
  t.is(one('Service.ProcSubset'), 'pid');
  t.is(one('Service.ProtectSystem'), 'strict');
  for (const key of ['ProtectHome', 'PrivateTmp', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality']) {
    t.true(on(one(`Service.${key}`)!), `${key}=yes`);
  }
  // V8's JIT needs writable+executable memory.
  t.false((s.get('Service.MemoryDenyWriteExecute') ?? []).some(on));
  t.deepEqual(words(s.get('Service.RestrictAddressFamilies')).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  t.is(one('Service.SystemCallArchitectures'), 'native');
  t.deepEqual(s.get('Service.SystemCallFilter'), ['@system-service @pkey', '~@privileged @resources']);
  t.is(one('Install.WantedBy'), 'multi-user.target');
});

test('the launcher gives the collector no V8 memory flags (only `run` gets them)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-launcher-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // A stand-in node that prints the arguments it was given.
  const fake = join(dir, 'node');
  await writeFile(fake, '#!/bin/sh\nprintf "%s\\n" "$@"\n');
  await chmod(fake, 0o755);
  const env = { ...process.env, HARBINGER_NODE: fake };
  // The stand-in only prints its arguments: the config path is never opened.
  const config = join(dir, 'harbinger.yml');
  const collector = await run(LAUNCHER, ['collector', '--config', config], env);
  t.is(collector.code, 0, collector.stderr);
  t.deepEqual(collector.stdout.trim().split('\n').slice(1), ['collector', '--config', config]);
  t.regex(collector.stdout.split('\n')[0]!, /\/dist\/src\/cli\.js$/);
  const agent = await run(LAUNCHER, ['run'], env);
  t.deepEqual(agent.stdout.trim().split('\n').slice(0, 3), ['--lite-mode', '--no-expose-wasm', '--max-semi-space-size=1']);
});

/** The commented examples of systemd/harbinger-collector.default, as systemd would read them uncommented. */
async function defaultExamples(): Promise<Map<string, string>> {
  const vars = new Map<string, string>();
  for (const line of (await readFile(DEFAULTS, 'utf8')).split('\n')) {
    const m = /^#(HARBINGER_\w+)=(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return vars;
}

test('the collector environment file sets nothing, and its examples are valid settings', async (t) => {
  const text = await readFile(DEFAULTS, 'utf8');
  const active = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  t.deepEqual(active, [], 'every line is a comment: the defaults are the config file');
  const vars = await defaultExamples();
  t.true(vars.has('HARBINGER_COLLECTOR_OPTS'));
  t.true([...vars.keys()].some((k) => k.startsWith('HARBINGER_FLEET_')));
  // The service's environment: the unit's Environment=, then the file (whose variables systemd
  // also passes to the process, HARBINGER_COLLECTOR_OPTS included), then the flags.
  // The unit's HARBINGER_STATE_DIR (checked above) with a temporary directory in its place.
  const stateDir = await mkdtemp(join(tmpdir(), 'harbinger-collector-state-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HARBINGER_STATE_DIR: stateDir, ...Object.fromEntries(vars) };
  const opts = words([vars.get('HARBINGER_COLLECTOR_OPTS')!]);
  t.true(opts.length > 0);
  const check = await run(process.execPath, ['dist/src/cli.js', 'check-config', '--config', EXAMPLE, ...opts], env);
  t.is(check.code, 0, check.stderr);
});

test('the collector writes its store under HARBINGER_STATE_DIR, not the file\'s state_dir, and stops on SIGTERM within 3 s', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-collector-state-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const agentState = join(dir, 'agent');
  const collectorState = join(dir, 'collector');
  await mkdir(collectorState);
  const config = join(dir, 'harbinger.yml');
  // No broker on port 1: the collector keeps trying, which is all this test needs.
  await writeFile(config, `state_dir: ${agentState}\nmqtt:\n  url: mqtt://127.0.0.1:1\nfleet:\n  listen_address: 127.0.0.1:0\n`);
  const env = {
    PATH: process.env.PATH,
    HARBINGER_NODE: process.execPath,
    HARBINGER_STATE_DIR: collectorState,
    HARBINGER_COLLECTOR_OPTS: '--log.level=info',
  };
  const child = spawn(LAUNCHER, ['collector', '--config', config, '--log.level=info'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += String(d)));
  child.stderr.on('data', (d) => (output += String(d)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 20_000;
  while (!/harbinger collector started/.test(output) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.regex(output, /harbinger collector started/, output);
  t.true(await exists(join(collectorState, 'fleet.sqlite')), 'fleet.sqlite in the collector\'s state directory');
  t.false(await exists(agentState), 'the agent\'s state_dir is not touched');
  const stopping = Date.now();
  child.kill('SIGTERM');
  t.is(await exited, 0, output);
  const took = Date.now() - stopping;
  t.log(`stopped in ${took} ms`);
  t.true(took < 3000, 'well within the unit\'s TimeoutStopSec=10s');
});

test('install.sh --help describes --collector', async (t) => {
  const result = await run('bash', [INSTALL, '--help']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /--collector/);
  t.regex(result.stdout, /harbinger-collector\.service/);
  t.regex(result.stdout, /\/etc\/default\/harbinger-collector/);
});

test('install.sh installs the collector unit into DESTDIR without enabling it; --collector checks its config; uninstall and purge remove it', async (t) => {
  t.true(await exists(join(REPO, 'dist/src/cli.js')), 'dist/src/cli.js is missing: run npm run build first');
  const root = await mkdtemp(join(tmpdir(), 'harbinger-install-collector-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const env = installEnv(root);
  const unit = join(root, 'etc/systemd/system/harbinger-collector.service');
  const defaults = join(root, 'etc/default/harbinger-collector');
  const state = join(root, 'var/lib/harbinger-collector');
  const dropins = join(root, 'etc/systemd/system/harbinger-collector.service.d');

  const install = installer(t, env);

  const first = await install();
  t.is(await readFile(unit, 'utf8'), await readFile(UNIT, 'utf8'));
  t.is((await stat(unit)).mode & 0o777, 0o644);
  t.is(await readFile(defaults, 'utf8'), await readFile(DEFAULTS, 'utf8'));
  t.is((await stat(defaults)).mode & 0o777, 0o640, 'HARBINGER_* overrides may be credentials');
  // Installed, not enabled: no wants/ link, and the output says how to enable it.
  t.false(await exists(join(root, 'etc/systemd/system/multi-user.target.wants/harbinger-collector.service')));
  t.false(await exists(state), 'systemd creates the state directory when the unit starts');
  t.regex(first.stdout, /harbinger-collector\.service installed, not enabled/);
  t.regex(first.stdout, /systemctl enable --now harbinger-collector/);

  // The unit is replaced on every install; the environment file is the sysadmin's.
  await writeFile(unit, '# edited in place\n');
  // The example config has no broker: the collector's check refuses it, and says what to set.
  const noBroker = await run('bash', [INSTALL, '--collector'], env);
  t.not(noBroker.code, 0);
  t.regex(noBroker.stderr, /harbinger collector needs a broker: set mqtt\.url/);
  const edited = 'HARBINGER_COLLECTOR_OPTS="--log.level=debug"\nHARBINGER_FLEET_LISTEN_ADDRESS=127.0.0.1:10191\nHARBINGER_MQTT_URL=mqtt://broker.example:1883\n';
  await writeFile(defaults, edited);
  const again = await install('--collector');
  t.regex(again.stdout, /kept existing \/etc\/default\/harbinger-collector/);
  t.is(await readFile(unit, 'utf8'), await readFile(UNIT, 'utf8'));
  t.is(await readFile(defaults, 'utf8'), edited);
  t.regex(again.stdout, /systemctl enable --now harbinger-collector/);

  // --collector checks the configuration as the collector's unit sees it: its options are refused.
  await writeFile(defaults, 'HARBINGER_COLLECTOR_OPTS="--fleet.no-such-setting=1"\nHARBINGER_MQTT_URL=mqtt://broker.example:1883\n');
  const invalid = await run('bash', [INSTALL, '--collector'], env);
  t.not(invalid.code, 0, 'an invalid collector configuration fails an install with --collector');
  t.regex(invalid.stderr, /invalid for the collector/);
  // Without --collector (and no collector running), the collector's file is not the agent's concern.
  await install();
  await writeFile(defaults, '');

  await mkdir(state, { recursive: true });
  await writeFile(join(state, 'fleet.sqlite'), '');
  await mkdir(dropins, { recursive: true });
  await writeFile(join(dropins, 'override.conf'), '[Service]\n');
  await install('--uninstall');
  t.false(await exists(unit));
  t.true(await exists(defaults), '--uninstall keeps /etc/default/harbinger-collector');
  t.true(await exists(join(state, 'fleet.sqlite')), '--uninstall keeps /var/lib/harbinger-collector');

  await install('--purge');
  t.false(await exists(defaults));
  t.false(await exists(state));
  t.false(await exists(dropins));
  t.false(await exists(join(root, 'etc/default/harbinger')));
});
