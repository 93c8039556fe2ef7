import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import test from 'ava';
import { repoPath } from '../helpers/tmp.js';
import { requireTool } from '../helpers/tools.js';

const run = promisify(execFile);
const DIR = repoPath('docs/prometheus');

test('the alerting rules are valid and their unit tests pass (promtool)', async (t) => {
  const promtool = requireTool('promtool', 'prometheus');
  const check = await run(promtool, ['check', 'rules', 'alerts.yml'], { cwd: DIR });
  t.regex(check.stdout, /SUCCESS: \d+ rules found/);
  const tests = await run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: DIR }).catch((err: { stdout: string; stderr: string }) => {
    throw new Error(`promtool test rules failed:\n${err.stdout}${err.stderr}`);
  });
  t.regex(tests.stdout, /SUCCESS/);
});

test('every alert is unit-tested, and every metric the rules use is one harbinger exports', (t) => {
  const rules = readFileSync(repoPath('docs/prometheus/alerts.yml'), 'utf8');
  const tests = readFileSync(repoPath('docs/prometheus/alerts.test.yml'), 'utf8');
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
  t.true(alerts.length >= 10);
  for (const alert of alerts) t.true(tests.includes(`alertname: ${alert}`), `${alert} has no test`);
  const metrics = new Set([...rules.matchAll(/\b(harbinger_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_bucket$/, '')));
  for (const metric of metrics) t.true(readme.includes(`\`${metric}\``), `${metric} is not in the README metrics reference`);
});
