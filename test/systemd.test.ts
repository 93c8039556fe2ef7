import test from 'ava';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists, installer, installEnv, run, unitSettings, words } from './helpers/systemd.js';

// Compiled to dist/test/; ava runs from the repository root.
const REPO = process.cwd();
const UNIT = join(REPO, 'systemd/harbinger.service');
const DEFAULTS = join(REPO, 'systemd/harbinger.default');
const INSTALL = join(REPO, 'scripts/install.sh');
const EXAMPLE = join(REPO, 'examples/harbinger.yml');
const MAX_EXPOSURE = 2.5;

test('systemd-analyze security rates the unit at most 2.5', async (t) => {
  const result = await run('systemd-analyze', ['security', '--offline=true', UNIT]);
  if (result.missing) {
    t.log('systemd-analyze is not installed, so the exposure level is not measured (apt-get install systemd)');
    t.pass();
    return;
  }
  const match = /Overall exposure level for \S+: ([0-9.]+)/.exec(result.stdout);
  if (!match) t.log(result.stdout, result.stderr);
  t.truthy(match, 'no "Overall exposure level" line (systemd-analyze >= 250 is needed for --offline)');
  const exposure = Number(match![1]);
  t.log(`exposure level: ${exposure} (at most ${MAX_EXPOSURE})`);
  if (exposure > MAX_EXPOSURE) t.log(result.stdout.split('\n').filter((l) => l.startsWith('✗')).join('\n'));
  t.true(exposure <= MAX_EXPOSURE);
});

test('systemd-analyze verify finds nothing wrong with the unit but the binary not installed here', async (t) => {
  const result = await run('systemd-analyze', ['verify', UNIT]);
  if (result.missing) {
    t.log('systemd-analyze is not installed, so the unit is not verified (apt-get install systemd)');
    t.pass();
    return;
  }
  // Unknown keys, bad values and bad dependencies are reported; the agent itself is only
  // there once installed.
  const problems = `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Command \/usr\/lib\/harbinger\/bin\/harbinger is not executable/.test(l));
  t.deepEqual(problems, []);
});

test('the unit runs the agent as harbinger with only the capabilities smartctl needs', async (t) => {
  const s = await unitSettings(UNIT);
  const one = (key: string) => {
    const values = s.get(key) ?? [];
    t.is(values.length, 1, `${key} should be set once`);
    return values[0];
  };
  t.is(one('Service.Type'), 'exec');
  t.is(one('Service.User'), 'harbinger');
  t.is(one('Service.Group'), 'harbinger');
  t.true(words(s.get('Service.SupplementaryGroups')).includes('disk'));
  t.is(one('Service.ExecStart')!.split(/\s+/)[0], '/usr/lib/harbinger/bin/harbinger');
  t.regex(one('Service.ExecStart')!, /\brun --config \/etc\/harbinger\/harbinger\.yml \$HARBINGER_OPTS$/);
  t.is(one('Service.EnvironmentFile'), '-/etc/default/harbinger');
  t.regex(one('Service.ExecReload')!, /kill -HUP \$MAINPID$/);
  t.is(one('Service.Restart'), 'on-failure');
  t.true(words(s.get('Service.RestartPreventExitStatus')).includes('78'));
  t.is(one('Service.StateDirectory'), 'harbinger');
  t.deepEqual(words(s.get('Service.AmbientCapabilities')).sort(), ['CAP_SYS_ADMIN', 'CAP_SYS_RAWIO']);
  t.deepEqual(words(s.get('Service.CapabilityBoundingSet')).sort(), ['CAP_SYS_ADMIN', 'CAP_SYS_RAWIO']);
  t.is(one('Service.NoNewPrivileges'), 'yes');
  // V8's JIT needs writable+executable memory.
  t.false((s.get('Service.MemoryDenyWriteExecute') ?? []).some((v) => /^(yes|true|on|1)$/i.test(v)));
  // The disks must stay visible: a closed device policy with disk reads allowed instead.
  t.false((s.get('Service.PrivateDevices') ?? []).some((v) => /^(yes|true|on|1)$/i.test(v)));
  t.is(one('Service.DevicePolicy'), 'closed');
  const devices = (s.get('Service.DeviceAllow') ?? []).map((v) => v.split(/\s+/)[0]);
  for (const d of ['block-sd', 'block-blkext', 'char-nvme']) t.true(devices.includes(d), `DeviceAllow=${d}`);
  // /proc/meminfo, /proc/loadavg and /proc/pressure must stay readable.
  t.false((s.get('Service.ProcSubset') ?? []).includes('pid'));
  t.deepEqual(words(s.get('Service.RestrictAddressFamilies')).sort(), ['AF_INET', 'AF_INET6', 'AF_UNIX']);
  t.is(one('Service.SystemCallArchitectures'), 'native');
  t.true(words(s.get('Service.SystemCallFilter')).includes('@system-service'));
  t.is(one('Install.WantedBy'), 'multi-user.target');
});

test('install.sh --help says how to install and uninstall', async (t) => {
  const result = await run('bash', [INSTALL, '--help']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /--uninstall/);
  t.regex(result.stdout, /--purge/);
  t.regex(result.stdout, /--destdir/);
});

test('install.sh installs into DESTDIR, again without harm, and uninstalls keeping the config', async (t) => {
  t.true(await exists(join(REPO, 'dist/src/cli.js')), 'dist/src/cli.js is missing: run npm run build first');
  const root = await mkdtemp(join(tmpdir(), 'harbinger-install-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  // As a sysadmin would run it: without npm's script variables or harbinger settings.
  const env = installEnv(root);

  const lib = join(root, 'usr/lib/harbinger');
  const wrapper = join(lib, 'bin/harbinger');
  const config = join(root, 'etc/harbinger/harbinger.yml');
  const defaults = join(root, 'etc/default/harbinger');
  const unit = join(root, 'etc/systemd/system/harbinger.service');

  const install = installer(t, env);
  const checkLayout = async () => {
    t.truthy((await stat(wrapper)).mode & 0o111, 'the wrapper is executable');
    const launcher = await readFile(wrapper, 'utf8');
    t.regex(launcher, /^node=\$\{HARBINGER_NODE:-\/[^}]*node\}$/m, 'pinned to the node found at install time');
    t.regex(launcher, /^  exec "\$node" --lite-mode --no-expose-wasm --max-semi-space-size=1 "\$cli" "\$@"$/m, 'the daemon gets its memory flags');
    t.true(await exists(join(lib, 'dist/src/cli.js')));
    t.false(await exists(join(lib, 'dist/test')), 'compiled tests are not installed');
    t.true(await exists(join(lib, 'package.json')), 'package.json (the version) is installed');
    t.true(await exists(join(lib, 'node_modules/commander/package.json')), 'production dependencies are installed');
    t.false(await exists(join(lib, 'node_modules/ava')), 'dev dependencies are not installed');
    t.false(await exists(join(lib, 'node_modules/typescript')), 'dev dependencies are not installed');
    t.is(await readFile(unit, 'utf8'), await readFile(UNIT, 'utf8'));
    t.true(await exists(defaults));
    t.true(await exists(config));
    const leftovers = (await readdir(join(root, 'usr/lib'))).filter((n) => n !== 'harbinger');
    t.deepEqual(leftovers, [], 'no staging directories are left behind');
    // The installed tree runs by itself: its own node_modules, not the checkout's.
    const check = await run(wrapper, ['check-config', '--config', config], env);
    t.is(check.code, 0, check.stderr);
  };

  await install();
  await checkLayout();
  t.is(await readFile(defaults, 'utf8'), await readFile(DEFAULTS, 'utf8'));
  t.true(await exists(EXAMPLE), 'examples/harbinger.yml is the config that install.sh installs');
  t.is(await readFile(config, 'utf8'), await readFile(EXAMPLE, 'utf8'));
  t.is((await stat(config)).mode & 0o777, 0o640, 'the config may hold credentials');

  // A sysadmin's changes survive a second run.
  await appendFile(config, '# edited by the sysadmin\n');
  await writeFile(defaults, 'HARBINGER_OPTS="--log.level=debug"\n');
  const again = await install();
  t.regex(again.stdout, /kept existing \/etc\/harbinger\/harbinger\.yml/);
  t.regex(await readFile(config, 'utf8'), /# edited by the sysadmin\n$/);
  t.is(await readFile(defaults, 'utf8'), 'HARBINGER_OPTS="--log.level=debug"\n');
  await checkLayout();

  // An invalid setting in /etc/default/harbinger is caught before any restart.
  await writeFile(defaults, 'HARBINGER_NO_SUCH_SETTING=1\n');
  const invalid = await run('bash', [INSTALL], env);
  t.not(invalid.code, 0, 'an invalid configuration fails the install');
  t.regex(invalid.stderr + invalid.stdout, /HARBINGER_NO_SUCH_SETTING/);
  await writeFile(defaults, '');

  await install('--uninstall');
  t.false(await exists(lib));
  t.false(await exists(unit));
  t.true(await exists(config), '--uninstall keeps /etc/harbinger');
  t.true(await exists(defaults), '--uninstall keeps /etc/default/harbinger');
  await install('--uninstall'); // nothing left to remove: still fine

  await install('--uninstall', '--purge');
  t.false(await exists(join(root, 'etc/harbinger')));
  t.false(await exists(defaults));
  t.false(await exists(join(root, 'var/lib/harbinger')));
});

test('install.sh refuses a checkout that was not built, saying what to run', async (t) => {
  // A copy of the scripts and packaging without dist/.
  const fake = await mkdtemp(join(tmpdir(), 'harbinger-unbuilt-'));
  t.teardown(() => rm(fake, { recursive: true, force: true }));
  const files = ['package.json', 'package-lock.json', 'scripts/install.sh'];
  for (const unit of ['harbinger', 'harbinger-collector']) files.push(`systemd/${unit}.service`, `systemd/${unit}.default`);
  for (const f of files) {
    const text = await readFile(join(REPO, f));
    await mkdir(join(fake, f, '..'), { recursive: true });
    await writeFile(join(fake, f), text);
  }
  const result = await run('bash', [join(fake, 'scripts/install.sh'), '--destdir', join(fake, 'root')]);
  t.not(result.code, 0);
  t.regex(result.stderr, /npm ci && npm run build/);
  t.false(await exists(join(fake, 'root/usr/lib/harbinger')));
});
