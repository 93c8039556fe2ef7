import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import test from 'ava';
import { effectiveStateDir, harbingerEnv, underTmp } from '../helpers/agent.js';
import { repoPath } from '../helpers/tmp.js';

/**
 * Tests never touch the host they run on: every harbinger child goes through the helpers of
 * test/helpers/agent.ts (startHarbinger, startAgent, runHarbinger, execHarbinger), which refuse a
 * state directory outside the OS temporary directory. A test that runs the CLI by itself
 * (process.execPath with dist/src/cli.js) bypasses that check, so it fails here.
 */
const ALLOWED: Record<string, string> = {
  'test/helpers/agent.ts': 'the helpers themselves',
  'test/ops/no-host-paths.test.ts': 'this scan',
  'test/systemd.test.ts': 'checks that dist/src/cli.js exists before installing; runs nothing from it',
  'test/demo/demo.test.ts': 'harbinger demo keeps all its state under TMPDIR, which the test sets to a temporary directory of its own',
  // Not yet moved to the helpers (read for this list: each names a temporary --state-dir, or runs
  // check-config, which only loads the configuration). A new file is not listed, so it fails.
  'test/e2e/cluster-haproxy.test.ts': 'balance status with --state-dir of a member made by test/helpers/cluster.ts (tempDir)',
  'test/e2e/db.test.ts': 'check with --state-dir tempDir',
  'test/e2e/haproxy-roles.test.ts': 'balance with --state-dir tempDir',
  'test/e2e/mqtt.test.ts': 'balance with --state-dir tempDir',
  'test/e2e/predict.test.ts': 'check with base(dir): --state-dir tempDir',
  'test/e2e/signals.test.ts': 'run with --state-dir tempDir',
  'test/e2e/scrape.test.ts': 'check-config only',
  'test/e2e/web-config.test.ts': 'check-config only',
  'test/systemd-collector.test.ts': 'check-config only, and a check that dist/src/cli.js exists',
};

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (/\.(ts|mjs|js)$/.test(entry.name)) out.push(path);
  }
  return out;
}

test('no test runs the CLI except through the helpers that keep its state in a temporary directory', async (t) => {
  const offenders: string[] = [];
  for (const file of await sources(repoPath('test'))) {
    const name = relative(repoPath(), file);
    if (name in ALLOWED) continue;
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      if (/cli\.js['"]|\[CLI\b|\bCLI,\s*['"]|import \{[^}]*\bCLI\b/.test(line)) offenders.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  t.deepEqual(offenders, [], 'run harbinger with startHarbinger, startAgent, runHarbinger or execHarbinger (test/helpers/agent.ts)');
});

test('the helpers refuse a state directory outside the temporary directory, and give one when the test names none', async (t) => {
  t.is(effectiveStateDir(['run', '--config', repoPath('examples/harbinger.yml')], {}), '/var/lib/harbinger', "the example file's state_dir");
  t.is(effectiveStateDir(['--state-dir', '/a', 'run'], { HARBINGER_STATE_DIR: '/b' }), '/a', 'the flag wins over env');
  t.is(effectiveStateDir(['run', '--state-dir=/a'], {}), '/a');
  t.is(effectiveStateDir(['run', '--config', repoPath('examples/harbinger.yml')], { HARBINGER_STATE_DIR: '/b' }), '/b', 'env wins over the file');
  await t.throwsAsync(harbingerEnv(t, ['run', '--state-dir', '/var/lib/harbinger']), { message: /would use the state directory \/var\/lib\/harbinger/ });
  await t.throwsAsync(harbingerEnv(t, ['run'], { HARBINGER_STATE_DIR: '/var/lib/harbinger' }), { message: /\/var\/lib\/harbinger/ });
  await t.throwsAsync(harbingerEnv(undefined, ['run', '--config', repoPath('examples/harbinger.yml')]), { message: /\/var\/lib\/harbinger/ }, 'without a test context nothing is made for it');
  const env = await harbingerEnv(t, ['run', '--config', repoPath('examples/harbinger.yml')]);
  t.true(underTmp(env.HARBINGER_STATE_DIR!), env.HARBINGER_STATE_DIR);
  t.deepEqual(Object.keys(env).sort(), ['HARBINGER_STATE_DIR', 'PATH']);
});
