import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { overrideJson, OverrideStore } from '../../src/balance/override.js';
import { runHarbinger } from '../helpers/agent.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort, requireTool } from '../helpers/tools.js';

const NOBODY = 65534;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI as a child, with only PATH from the environment (no HARBINGER_* of the host); every call names its temporary state directory. */
function harbinger(args: string[], options: { env?: Record<string, string>; asNobody?: boolean } = {}): Promise<Run> {
  const wrap = options.asNobody ? [requireTool('setpriv', 'util-linux'), '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  return runHarbinger(undefined, args, { env: options.env, wrap });
}

/** A state directory, and a config file that nobody can read too, pointing the agent's web address at a closed port. */
async function setup(t: ExecutionContext, port?: number) {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  const config = join(dir, 'harbinger.yml');
  chmodSync(dir, 0o755);
  writeFileSync(config, `web:\n  listen_address: "127.0.0.1:${port ?? (await freePort())}"\n`, { mode: 0o644 });
  mkdirSync(stateDir, { mode: 0o755 });
  return { stateDir, config, store: new OverrideStore(stateDir), args: ['--config', config, '--state-dir', stateDir] };
}

test('drain with --for saves the override, and says so when no agent answers (exit 0)', async (t) => {
  const { store, args } = await setup(t);
  const before = Date.now();
  const run = await harbinger([...args, 'balance', 'drain', '--reason', 'replacing disk sdb #7', '--for', '1h30m']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^In force: drain "replacing disk sdb #7" by root, since \S+, until \S+ \(in 1h30m\)\. A running agent applies it within a second\.$/m);
  t.regex(run.stdout, /^No agent answers at http:\/\/127\.0\.0\.1:\d+\/health \(ECONNREFUSED\): the change is saved and applies when the agent runs\.$/m);
  const { override } = store.read();
  t.is(override?.mode, 'drain');
  t.is(override?.by, 'root');
  t.true(override!.setAtMs >= before);
  t.is(override!.untilMs! - override!.setAtMs, 90 * 60_000);
});

test('hold replaces a drain; status shows it (text and JSON); resume removes it', async (t) => {
  const { store, args } = await setup(t);
  t.is((await harbinger([...args, 'balance', 'drain', '--reason', 'first'])).code, 0);
  const hold = await harbinger([...args, 'balance', 'hold', '--reason', 'kernel update', '--for', '7d']);
  t.is(hold.code, 0, hold.stderr);
  t.is(store.read().override?.mode, 'hold');
  t.is(store.read().override?.reason, 'kernel update');

  const status = await harbinger([...args, 'balance', 'status']);
  t.is(status.code, 0);
  t.regex(status.stdout, /^override: hold "kernel update" by root, since \S+, until \S+ \(in 7d\)$/m);
  t.regex(status.stdout, /^agent: no answer at http:\/\/127\.0\.0\.1:\d+\/health \(ECONNREFUSED\)$/m);
  const json = JSON.parse((await harbinger([...args, 'balance', 'status', '--json'])).stdout) as Record<string, any>;
  t.deepEqual(json.override, overrideJson(store.read().override));
  t.is(json.problem, null);
  t.is(json.agent.reachable, false);

  const resume = await harbinger([...args, 'balance', 'resume']);
  t.is(resume.code, 0, resume.stderr);
  t.regex(resume.stdout, /^Override removed \(was hold "kernel update" by root, .*\): harbinger decides\./m);
  t.false(existsSync(store.path));
  t.regex((await harbinger([...args, 'balance', 'status'])).stdout, /^override: none: harbinger decides$/m);
  t.regex((await harbinger([...args, 'balance', 'resume'])).stdout, /^No override was set: harbinger decides\.$/m);
});

test('status tells an expired override and an invalid file apart from none', async (t) => {
  const { store, args } = await setup(t);
  store.write({ mode: 'drain', reason: 'old', by: 'root', setAtMs: Date.parse('2025-01-01T00:00:00Z'), untilMs: Date.parse('2025-01-01T01:00:00Z') });
  const expired = await harbinger([...args, 'balance', 'status']);
  t.regex(expired.stdout, /^override: none: harbinger decides \(the drain "old" by root expired at 2025-01-01T01:00:00.000Z; "harbinger balance resume" removes the file\)$/m);
  const json = JSON.parse((await harbinger([...args, 'balance', 'status', '--json'])).stdout) as Record<string, any>;
  t.is(json.override, null);
  t.is(json.expired.reason, 'old');
  writeFileSync(store.path, '{"version":1,"mode":');
  const invalid = await harbinger([...args, 'balance', 'status']);
  t.is(invalid.code, 0);
  t.regex(invalid.stdout, /^override: none: harbinger decides; the file is ignored: .*balance-override\.json: it is not valid JSON/m);
});

test('the state directory comes from the configuration: the file\'s state_dir and HARBINGER_STATE_DIR', async (t) => {
  const { stateDir, config, store } = await setup(t);
  writeFileSync(config, `${readFileSync(config, 'utf8')}state_dir: ${JSON.stringify(stateDir)}\n`);
  t.is((await harbinger(['--config', config, 'balance', 'drain', '--reason', 'from the file'])).code, 0);
  t.is(store.read().override?.reason, 'from the file');
  const other = await setup(t);
  const run = await harbinger(['--config', other.config, 'balance', 'hold', '--reason', 'from env'], { env: { HARBINGER_STATE_DIR: other.stateDir } });
  t.is(run.code, 0, run.stderr);
  t.is(other.store.read().override?.reason, 'from env');
});

test('usage errors exit 64 with a message: no --reason, a reason of two lines, a bad --for, no subcommand', async (t) => {
  const { store, args } = await setup(t);
  const noReason = await harbinger([...args, 'balance', 'drain']);
  t.is(noReason.code, 64);
  t.regex(noReason.stderr, /^harbinger balance: balance drain needs --reason TEXT: say why/m);
  const twoLines = await harbinger([...args, 'balance', 'hold', '--reason', 'a\nb']);
  t.is(twoLines.code, 64);
  t.regex(twoLines.stderr, /control character/);
  const badFor = await harbinger([...args, 'balance', 'hold', '--reason', 'r', '--for', 'soon']);
  t.is(badFor.code, 64);
  t.regex(badFor.stderr, /--for "soon" is not a duration: give one like 30m, 2h, 1h30m or 7d/);
  t.is((await harbinger([...args, 'balance', 'hold', '--reason'])).code, 64);
  t.is((await harbinger([...args, 'balance'])).code, 64);
  t.false(existsSync(store.path));
});

test('an invalid configuration exits 78', async (t) => {
  const { args } = await setup(t);
  const run = await harbinger([...args, '--web.listen-address', 'nowhere', 'balance', 'status']);
  t.is(run.code, 78);
  t.regex(run.stderr, /invalid configuration/);
});

test('a user who is neither root nor the state directory\'s owner is refused with exit 77 and what to run', async (t) => {
  const { store, args } = await setup(t);
  const run = await harbinger([...args, 'balance', 'drain', '--reason', 'not mine'], { asNobody: true });
  t.is(run.code, 77, run.stderr);
  t.regex(run.stderr, /^harbinger balance: only root and the owner of \S+ \(root\) may change the override: run it as root: sudo harbinger --config \S+ --state-dir \S+ balance drain --reason 'not mine'$/m);
  t.is((await harbinger([...args, 'balance', 'resume'], { asNobody: true })).code, 77);
  t.false(existsSync(store.path));
  // Anyone may look.
  t.is((await harbinger([...args, 'balance', 'status'], { asNobody: true })).code, 0);
});

test('the state directory\'s owner may change it; a directory it cannot write is exit 1 with why', async (t) => {
  const { stateDir, store, args } = await setup(t);
  chownSync(stateDir, NOBODY, NOBODY);
  const run = await harbinger([...args, 'balance', 'drain', '--reason', 'as the agent user'], { asNobody: true });
  t.is(run.code, 0, run.stderr);
  t.is(store.read().override?.by, 'nobody');
  chmodSync(stateDir, 0o555);
  const denied = await harbinger([...args, 'balance', 'hold', '--reason', 'r'], { asNobody: true });
  t.is(denied.code, 1);
  t.regex(denied.stderr, /^harbinger balance: cannot write \S+balance-override\.json: permission denied; run it as root or as the owner of /m);
  t.is(store.read().override?.mode, 'drain', 'the old override is intact');
});

test('a state directory that does not exist is named, not created', async (t) => {
  const { stateDir, config } = await setup(t);
  const missing = join(stateDir, 'missing');
  const run = await harbinger(['--config', config, '--state-dir', missing, 'balance', 'drain', '--reason', 'r']);
  t.is(run.code, 1);
  t.true(run.stderr.includes(`the state directory ${missing} does not exist`));
  t.false(existsSync(missing));
});

test('with an agent answering /health, the command waits for it to apply the change and prints its state', async (t) => {
  // A stand-in for the agent's /health: each answer shows the file as it was at the previous request,
  // as an agent that has not polled yet would, so the command has to ask again.
  let store: OverrideStore | undefined;
  let seen: ReturnType<typeof overrideJson> | undefined;
  const server = createServer((req, res) => {
    const current = overrideJson(store?.read().override);
    const override = seen === undefined ? current : seen;
    seen = current;
    const balance = override?.mode === 'drain' ? { state: 'drain', weight: 0, reasons: [`operator drain: ${override.reason}`] } : { state: 'up', weight: 100, reasons: [] };
    res.writeHead(balance.state === 'up' ? 200 : 503, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', balance: { ...balance, override } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const setupResult = await setup(t, (server.address() as AddressInfo).port);
  store = setupResult.store;
  const drain = await harbinger([...setupResult.args, 'balance', 'drain', '--reason', 'swap sdb']);
  t.is(drain.code, 0, drain.stderr);
  t.regex(drain.stdout, /^The agent applied it: drain \(operator drain: swap sdb\)\.$/m);
  const status = await harbinger([...setupResult.args, 'balance', 'status']);
  t.regex(status.stdout, /^agent: drain \(operator drain: swap sdb\)$/m);
  const resume = await harbinger([...setupResult.args, 'balance', 'resume']);
  t.regex(resume.stdout, /^The agent applied it: up, weight 100%\.$/m);
});
