import { readFileSync } from 'node:fs';
import test from 'ava';
import { COLLECTORS } from '../src/collectors/index.js';
import { buildSchema, envName, flagName, leaves } from '../src/config/schema.js';
import { fixtureArgs, startAgent, waitForCollector } from './helpers/agent.js';
import { repoPath } from './helpers/tmp.js';

const readme = readFileSync(repoPath('README.md'), 'utf8');

test('the README configuration reference lists every key with its flag and env var', (t) => {
  for (const leaf of leaves(buildSchema(COLLECTORS))) {
    const key = leaf.path.join('.');
    t.true(readme.includes(`| \`${key}\` | \`--${flagName(leaf.path)}\` / \`${envName(leaf.path)}\` |`), `README misses ${key}`);
  }
});

test('the README metrics reference lists every family a full scrape has', async (t) => {
  const agent = await startAgent(t, [
    ...fixtureArgs(),
    '--collector.pressure.units',
    'mariadb.service',
  ]);
  await waitForCollector(agent, 'pressure');
  await waitForCollector(agent, 'host');
  const text = await (await fetch(`${agent.url}/metrics`)).text();
  const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
  t.true(families.length > 20);
  for (const family of families) {
    if (/^harbinger_(process|nodejs)_/.test(family)) continue;
    t.true(readme.includes(`\`${family}\``), `README misses ${family}`);
  }
});
