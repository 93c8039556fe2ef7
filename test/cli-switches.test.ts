import test from 'ava';
import { Command } from 'commander';
import { switches, switchValues, UsageError } from '../src/cli-switches.js';
import { runHarbinger } from './helpers/agent.js';
import { repoPath, tempDir } from './helpers/tmp.js';

const program = new Command('p').option('--x.enabled', 'a setting').option('--no-x.enabled').option('--level <value>');
program.command('check').option('--json');
const known = switches(program);

test('the switches of a program and its subcommands, with whether each has a --no- form', (t) => {
  t.deepEqual([...known].sort(), [['--json', false], ['--x.enabled', true]]);
});

test('a switch with a value becomes the bare switch, its --no- form, or nothing', (t) => {
  const rewrite = (...args: string[]) => switchValues(args, known);
  t.deepEqual(rewrite('check', '--x.enabled=false'), ['check', '--no-x.enabled']);
  t.deepEqual(rewrite('check', '--x.enabled', 'false', 'more'), ['check', '--no-x.enabled', 'more']);
  t.deepEqual(rewrite('--x.enabled=true', '--no-x.enabled=false'), ['--x.enabled', '--x.enabled']);
  t.deepEqual(rewrite('--no-x.enabled=true'), ['--no-x.enabled']);
  t.deepEqual(rewrite('check', '--json=false'), ['check'], 'a switch without a --no- form: false is leaving it out');
  t.deepEqual(rewrite('check', '--json=true', '--json', 'true'), ['check', '--json', '--json']);
  // Bare switches, options with values, unknown flags and everything after -- are left to the parser.
  t.deepEqual(rewrite('--x.enabled', 'check', '--level=false', '--level', 'true', '--unknown=false'), ['--x.enabled', 'check', '--level=false', '--level', 'true', '--unknown=false']);
  t.deepEqual(rewrite('--', '--x.enabled=false'), ['--', '--x.enabled=false']);
  const err = t.throws(() => rewrite('--x.enabled=maybe'), { instanceOf: UsageError });
  t.is(err?.message, '--x.enabled is a switch: give it alone, with =true or =false, or as --no-x.enabled, not =maybe');
});

test('harbinger: a collector switched off with =false is off', async (t) => {
  const stateDir = await tempDir(t);
  const run = (...switch_: string[]) =>
    runHarbinger(t, ['check', '--json', '--config', repoPath('examples/harbinger.yml'), '--state-dir', stateDir, '--no-collector.host', '--no-collector.pressure', '--no-collector.db', '--smart.replay', repoPath('examples/replay'), ...switch_]).then(
      ({ stdout }) => (JSON.parse(stdout) as { disks: unknown[] }).disks.length,
    );
  t.true((await run('--collector.smart.enabled=true')) > 0);
  t.is(await run('--collector.smart.enabled=false'), 0);
  t.is(await run('--collector.smart', 'false'), 0);
  const bad = await runHarbinger(t, ['check-config', '--collector.smart=yes']);
  t.is(bad?.code, 78);
  t.regex(bad!.stderr, /^harbinger: --collector\.smart is a switch: give it alone, with =true or =false, or as --no-collector\.smart, not =yes$/m);
});
