import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import bcrypt from 'bcryptjs';
import { startAgent } from '../helpers/agent.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

test('the agent enforces basic auth from web.config_file and picks up a new password on SIGHUP', async (t) => {
  const dir = await tempDir(t);
  const webConfig = join(dir, 'web.yml');
  await writeFile(webConfig, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('first', 4)}\n`);
  const agent = await startAgent(t, ['--config', repoPath('examples/harbinger.yml'), '--web.config-file', webConfig, '--no-collector.host']);

  const denied = await fetch(`${agent.url}/metrics`);
  t.is(denied.status, 401);
  t.is(denied.headers.get('www-authenticate'), 'Basic realm="harbinger"');
  t.is((await fetch(`${agent.url}/metrics`, { headers: basic('prometheus', 'wrong') })).status, 401);
  t.is((await fetch(`${agent.url}/metrics`, { headers: basic('prometheus', 'first') })).status, 200);

  await writeFile(webConfig, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('second', 4)}\n`);
  agent.process.kill('SIGHUP');
  await waitFor('the reload', async () => agent.logs().find((l) => l.msg === 'configuration reloaded'));
  const listening = agent.logs().filter((l) => l.msg === 'serving /metrics, /health and /');
  const port = Number(String(listening[listening.length - 1]!.address).split(':').pop());
  t.is(port, agent.port, 'same address after the reload');
  t.is((await fetch(`${agent.url}/metrics`, { headers: basic('prometheus', 'first') })).status, 401);
  t.is((await fetch(`${agent.url}/metrics`, { headers: basic('prometheus', 'second') })).status, 200);
});

test('an invalid web config file is a configuration error: exit 78 naming the file', async (t) => {
  const dir = await tempDir(t);
  const webConfig = join(dir, 'web.yml');
  await writeFile(webConfig, 'tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\nbasic_auth_user: {}\n');
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(process.execPath, [repoPath('dist/src/cli.js'), 'check-config', '--config', repoPath('examples/harbinger.yml'), '--web.config-file', webConfig], {
    encoding: 'utf8',
  });
  t.is(result.status, 78);
  t.regex(result.stderr, /web\.yml:4:1: basic_auth_user: unknown key "basic_auth_user"; did you mean "basic_auth_users"\?/);
  t.regex(result.stderr, /tls_server_config\.cert_file/);
});
