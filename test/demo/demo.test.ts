import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import test from 'ava';
import { CLI } from '../helpers/agent.js';
import { waitFor } from '../helpers/tools.js';

test('npm run demo: broker, agent and collector start without root or a broker; events print; the feeds fill; Ctrl-C stops all', async (t) => {
  // Only PATH: no database, no broker, nothing from the environment of the test run.
  const demo = spawn(process.execPath, [CLI, 'demo', '--interval', '1'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  demo.stdout.on('data', (d) => (out += d));
  demo.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => demo.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (demo.exitCode === null) demo.kill('SIGKILL');
  });

  // The drain is its own event, published after the level's: it may print a moment later.
  await waitFor('the failing disk and the drain to be announced', async () => {
    if (demo.exitCode !== null) throw new Error(`demo exited ${demo.exitCode}: ${err}${out}`);
    return /level changed: sdb: degraded → failing/.test(out) && /load balancer: .* → drain/.test(out) ? true : undefined;
  }, 30_000);
  t.regex(out, /failure predicted: sdb: ok → degraded/);
  const metrics = /agent +(http:\/\/\S+\/metrics)/.exec(out)?.[1];
  const fleet = /collector +(http:\/\/\S+)\//.exec(out)?.[1];
  const state = /state +(\/\S+)/.exec(out)?.[1];
  t.truthy(metrics && fleet && state, out);
  t.is((await fetch(metrics!)).status, 200);
  const maintenance = await waitFor('the collector to list the disk', async () => {
    const body = (await (await fetch(`${fleet}/api/maintenance`)).json()) as { disks?: Array<{ host: string; level: string }> } | Array<{ host: string; level: string }>;
    const disks = Array.isArray(body) ? body : (body.disks ?? []);
    return disks.some((d) => d.host === 'demo-db1' && d.level === 'failing') ? disks : undefined;
  });
  t.true(maintenance.length >= 1);
  const ics = await (await fetch(`${fleet}/maintenance.ics`)).text();
  t.regex(ics, /BEGIN:VEVENT[\s\S]*demo-db1[\s\S]*END:VEVENT/);
  t.is(err.trim(), '', 'nothing on stderr');

  demo.kill('SIGINT');
  t.is(await exited, 0);
  t.regex(out, /stopped: agent, collector and broker; temporary state removed/);
  t.false(existsSync(state!), 'the temporary state is gone');
});
