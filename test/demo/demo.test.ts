import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CLI } from '../helpers/agent.js';
import { waitFor } from '../helpers/tools.js';

/** The whole story, from start to the deferral: it waits for events, and 60 s is far more than it takes. */
const STORY_TIMEOUT_MS = 60_000;

test('npm run demo: broker, a cluster of three agents and a collector start without root or a broker; one drain is granted, one deferred with its reason; SIGTERM stops all and removes the state', async (t) => {
  // The demo makes its temporary state under TMPDIR: a directory of the test's own, so that
  // whatever happens the teardown removes it.
  const tmp = await mkdtemp(join(tmpdir(), 'harbinger-demo-test-'));
  // Only PATH: no database, no broker, nothing from the environment of the test run. Its own
  // process group, so the teardown can end the agents too if the demo could not.
  const demo = spawn(process.execPath, [CLI, 'demo', '--interval', '1'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  demo.stdout.on('data', (d) => {
    out += d;
    for (const check of waiters) check();
  });
  demo.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    demo.on('exit', (code) => {
      resolve(code);
      for (const check of waiters) check();
    }),
  );
  t.teardown(async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      demo.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
      if (!stopped) {
        try {
          process.kill(-demo.pid!, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
    }
    await rm(tmp, { recursive: true, force: true });
  });

  /** Resolves with the match once the demo's output matches `pattern`; fails at `deadline` or when the demo exits. */
  const deadline = Date.now() + STORY_TIMEOUT_MS;
  const printed = (what: string, pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}:\n${out}\n${err}`)), Math.max(0, deadline - Date.now()));
      const done = (e?: Error, m?: RegExpExecArray) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (e) reject(e);
        else resolve(m!);
      };
      const check = () => {
        const m = pattern.exec(out);
        if (m) done(undefined, m);
        else if (demo.exitCode !== null || demo.signalCode !== null) done(new Error(`demo exited (${demo.exitCode ?? demo.signalCode}) before ${what}:\n${out}\n${err}`));
      };
      waiters.add(check);
      check();
    });

  // The three agents and the collector start: their addresses are printed once all listen.
  await printed('the addresses', /Events and the cluster as they change/);
  const health = ['demo-db1', 'demo-db2', 'demo-db3'].map((host) => new RegExp(`^  ${host} +(http://\\S+/health)`, 'm').exec(out)?.[1]);
  const fleet = /^  collector +(http:\/\/\S+)\//m.exec(out)?.[1];
  const state = /^  state +(\/\S+)/m.exec(out)?.[1];
  t.true(health.every(Boolean) && fleet !== undefined && state !== undefined, out);
  t.regex(out, new RegExp(`${fleet}/api/clusters`));
  t.true(state!.startsWith(tmp), 'the demo keeps its state under TMPDIR');
  // Each agent answers its health check (200 up, 503 drained: at 1 s a round, demo-db1 may be drained already).
  for (const url of health) t.true([200, 503].includes((await fetch(url!)).status), url);

  // One drain granted, one deferred with its reason, in one picture of the cluster.
  const picture = await printed(
    'one granted and one deferred drain',
    /cluster demo-pg: .*\n +granted: +(demo-db\d) — .+\n +deferred: +(demo-db\d) — (.+)\n/,
  );
  const [, granted, deferred, reason] = picture as unknown as [string, string, string, string];
  // The two with the failing disk; demo-db1's fails a round earlier, so it is normally the one granted.
  t.deepEqual([granted, deferred].sort(), ['demo-db1', 'demo-db2']);
  t.regex(reason, new RegExp(`^${deferred}'s data disk is failing, but ${granted} is already out of cluster demo-pg \\(${granted}: drain granted\\) and it allows 1 host at a time \\(fleet\\.clusters\\.max_drained\\)`));
  // The events behind it: the granted host drains on the collector's answer, the deferred one says why.
  await printed(`the drain of ${granted}`, new RegExp(`${granted} +load balancer: up 100% → drain \\(by the collector's answer; drain request granted\\)`));
  await printed(`the drain_deferred event of ${deferred}`, new RegExp(`${deferred} +drain deferred: stays in cluster demo-pg and keeps serving.*\\n +${deferred}'s data disk is failing, but ${granted} is already out`));
  await printed('the closing hint', /see it: +curl -s http:\/\/127\.0\.0\.1:\d+\/api\/clusters/);
  // The console listened from the start: every step of both disks' decline is there.
  for (const host of ['demo-db1', 'demo-db2']) {
    t.regex(out, new RegExp(`${host} +failure predicted: sdb: ok → degraded`));
    t.regex(out, new RegExp(`${host} +level changed: sdb: degraded → failing`));
  }
  t.notRegex(out, /demo-db3 +(failure predicted|level changed|load balancer|drain deferred)/, 'demo-db3 has only healthy disks');

  // What the collector serves says the same.
  const clusters = await waitFor('the collector to show the answers', async () => {
    const body = (await (await fetch(`${fleet}/api/clusters`)).json()) as {
      clusters: Array<{ cluster: string; members: Array<{ host: string }>; granted: string[]; deferred: Array<{ host: string; reason: string }> }>;
    };
    const c = body.clusters.find((x) => x.cluster === 'demo-pg');
    return c && c.granted.length === 1 && c.deferred.length === 1 ? c : undefined;
  });
  t.deepEqual(clusters.members.map((m) => m.host).sort(), ['demo-db1', 'demo-db2', 'demo-db3']);
  t.deepEqual(clusters.granted, [granted]);
  t.is(clusters.deferred[0]!.host, deferred);
  t.is(clusters.deferred[0]!.reason, reason);
  t.regex(await (await fetch(`${fleet}/`)).text(), /<h2>Clusters \(1\)<\/h2>\s*<h3>demo-pg<\/h3>/);
  // The load balancer: the granted host is out, the deferred one still serves, so does the third.
  const statuses = await Promise.all(health.map(async (url) => (await fetch(url!)).status));
  t.deepEqual(statuses, ['demo-db1', 'demo-db2', 'demo-db3'].map((host) => (host === granted ? 503 : 200)));
  // Nothing on stderr, but for a collector that timed out on a machine too busy to read a file
  // within its interval (1 s here): the agent keeps its previous reading, and the story goes on.
  const timeouts = /^ {2}demo-db\d: collector failed; the previous reading is kept and the agent keeps serving \((smart|pressure), timeout\b.*$/gm;
  for (const line of err.match(timeouts) ?? []) t.log(`on a busy machine: ${line.trim()}`);
  t.is(err.replace(timeouts, '').trim(), '', 'nothing on stderr');

  demo.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(out, /stopped: 3 agents, collector and broker; temporary state removed/);
  t.false(existsSync(state!), 'the temporary state is gone');
  t.deepEqual(await readdir(tmp), [], 'nothing else left under TMPDIR');
});
