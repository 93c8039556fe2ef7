import { chmodSync, chownSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { activeOverride, overrideJson, OverrideStore, OverrideWriteError, parseOverride, reasonProblem, type Override } from '../../src/balance/override.js';
import { tempDir } from '../helpers/tmp.js';

const NOBODY = 65534;
const drain: Override = { mode: 'drain', reason: 'replacing disk sdb #42', by: 'root', setAtMs: Date.parse('2025-03-01T10:00:00Z'), untilMs: Date.parse('2025-03-01T12:00:00Z') };

test('an override round-trips through its file, which is JSON with a version and ISO dates', async (t) => {
  const dir = await tempDir(t);
  const store = new OverrideStore(dir);
  t.is(store.path, join(dir, 'balance-override.json'));
  t.deepEqual(store.read(), {});
  t.is(store.signature(), undefined);
  store.write(drain);
  t.deepEqual(store.read(), { override: drain });
  const hold: Override = { mode: 'hold', reason: 'kernel update', by: 'harbinger', setAtMs: drain.setAtMs };
  store.write(hold);
  t.deepEqual(store.read(), { override: hold }, 'a new override replaces the old one; no until: until resumed');
  t.is(statSync(store.path).mode & 0o777, 0o644);
  t.deepEqual(readdirSync(dir), ['balance-override.json'], 'no temporary file is left behind');
  t.true(store.clear());
  t.false(store.clear());
  t.deepEqual(store.read(), {});
});

test('the JSON form of an override, as /health shows it', (t) => {
  t.deepEqual(overrideJson(drain), { mode: 'drain', reason: 'replacing disk sdb #42', by: 'root', since: '2025-03-01T10:00:00.000Z', until: '2025-03-01T12:00:00.000Z' });
  t.is(overrideJson(undefined), null);
});

test('an override ends at its until, by the clock it is given', (t) => {
  t.is(activeOverride(drain, Date.parse('2025-03-01T11:59:59Z')), drain);
  t.is(activeOverride(drain, Date.parse('2025-03-01T12:00:00Z')), undefined);
  const forever = { ...drain, untilMs: undefined };
  delete forever.untilMs;
  t.is(activeOverride(forever, Date.parse('2099-01-01T00:00:00Z')), forever);
  t.is(activeOverride(undefined, 0), undefined);
});

test('a damaged or invalid file is a problem with what to do, never an exception', async (t) => {
  const dir = await tempDir(t);
  const store = new OverrideStore(dir);
  const problemOf = (content: string) => {
    writeFileSync(store.path, content);
    const { override, problem } = store.read();
    t.is(override, undefined);
    return problem ?? '';
  };
  const valid = JSON.stringify({ version: 1, ...overrideJson(drain) });
  t.regex(problemOf(valid.slice(0, 40)), /balance-override\.json: it is not valid JSON \(damaged or cut short\); fix it or remove it with "harbinger balance resume"$/);
  t.regex(problemOf(''), /not valid JSON/);
  t.regex(problemOf('[]'), /not a JSON object/);
  t.regex(problemOf(valid.replace('"version":1', '"version":2')), /version is 2/);
  t.regex(problemOf(valid.replace('"drain"', '"up"')), /mode is "up", not "drain" or "hold"/);
  t.regex(problemOf(valid.replace('"replacing disk sdb #42"', '""')), /reason is empty/);
  t.regex(problemOf(valid.replace('"replacing disk sdb #42"', JSON.stringify('x'.repeat(501)))), /501 characters/);
  t.regex(problemOf(valid.replace('"replacing disk sdb #42"', '"two\\nlines"')), /control character/);
  t.regex(problemOf(valid.replace('"2025-03-01T10:00:00.000Z"', '"yesterday"')), /"since" is "yesterday"/);
  t.regex(problemOf(valid.replace('"2025-03-01T12:00:00.000Z"', '12')), /"until" is 12/);
  // Writing over a damaged file repairs it.
  store.write(drain);
  t.deepEqual(store.read(), { override: drain });
});

test('a reason is one line of at most 500 characters; # is allowed', (t) => {
  t.is(reasonProblem('disk #3 # ticket OPS-1'), undefined);
  t.truthy(reasonProblem('a\tb'));
  t.truthy(reasonProblem('a\rb'));
  t.truthy(reasonProblem('   '));
  t.is(reasonProblem('é'.repeat(500)), undefined);
  t.is(typeof parseOverride({ version: 1, mode: 'hold', reason: 'r', by: '', since: '2025-03-01T10:00:00Z', until: null }), 'string', 'by is required');
});

test('write refuses an invalid override and says why; a missing state directory is named', async (t) => {
  const dir = await tempDir(t);
  const store = new OverrideStore(dir);
  const bad = t.throws(() => store.write({ ...drain, reason: 'a\nb' }), { instanceOf: OverrideWriteError });
  t.regex(bad!.message, /control character/);
  const missing = new OverrideStore(join(dir, 'nope'));
  const err = t.throws(() => missing.write(drain), { instanceOf: OverrideWriteError });
  t.is(err!.code, 'ENOENT');
  t.regex(err!.message, /nope does not exist; start the agent once/);
  t.deepEqual(missing.read(), {});
});

test('a file owned by someone other than root or the state directory\'s owner is refused', async (t) => {
  t.is(process.geteuid?.(), 0, 'the tests run as root (scripts/test.sh)');
  const dir = await tempDir(t);
  const store = new OverrideStore(dir);
  store.write(drain);
  chownSync(store.path, NOBODY, NOBODY);
  const { override, problem } = store.read();
  t.is(override, undefined);
  t.regex(problem!, /owned by uid 65534, not by root or the state directory's owner \(uid 0\), so it is ignored/);
  // The agent's own user owning the directory: its file is believed.
  chownSync(dir, NOBODY, NOBODY);
  t.deepEqual(store.read(), { override: drain });
  // World-writable: anyone could have written it.
  chmodSync(store.path, 0o666);
  t.regex(store.read().problem!, /anyone may write to it/);
});

test('run as root, write gives the file to the state directory\'s owner', async (t) => {
  const dir = await tempDir(t);
  chownSync(dir, NOBODY, NOBODY);
  const store = new OverrideStore(dir);
  store.write(drain);
  const stat = statSync(store.path);
  t.is(stat.uid, NOBODY);
  t.is(stat.gid, NOBODY);
  t.deepEqual(store.read(), { override: drain });
});

test('a symbolic link is not followed', async (t) => {
  const dir = await tempDir(t);
  const other = await tempDir(t);
  const store = new OverrideStore(dir);
  new OverrideStore(other).write(drain);
  symlinkSync(join(other, 'balance-override.json'), store.path);
  t.regex(store.read().problem!, /symbolic link/);
});

test('the signature changes with every write and is undefined without a file', async (t) => {
  const dir = await tempDir(t);
  const store = new OverrideStore(dir);
  store.write(drain);
  const first = store.signature();
  t.truthy(first);
  t.is(store.signature(), first, 'stable while the file is unchanged');
  store.write(drain);
  t.not(store.signature(), first, 'the same content written again is a new file (a new inode)');
  store.clear();
  t.is(store.signature(), undefined);
});
