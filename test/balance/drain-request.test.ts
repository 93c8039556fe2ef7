import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DRAIN_FILE, DrainFile } from '../../src/balance/drain-file.js';
import { DrainCoordination, requestId, type CoordinationSettings } from '../../src/balance/drain-request.js';
import type { Override } from '../../src/balance/override.js';
import { decide, type BalanceDecision, type BalanceInputs } from '../../src/balance/policy.js';
import type { DrainVerdict } from '../../src/protocol/balance-report.js';
import type { DrainAnswer } from '../../src/protocol/drain-grant.js';
import { BALANCE_SETTINGS } from '../helpers/balance.js';
import { captureLogger } from '../helpers/logger.js';
import { tempDir } from '../helpers/tmp.js';

const T0 = Date.parse('2025-03-01T12:00:00.000Z');
const TIMEOUT = 120_000;
const SETTINGS: CoordinationSettings = { host: 'db1', cluster: 'pg', enabled: true, linked: true, grantTimeoutMs: TIMEOUT };
const DISK_REASON = 'disk wwn-2 (/dev/sdb) is failing and holds database data (holds /srv/pg of pg): replace it';
const PRESSURE_REASON = 'IO pressure 75% is above 30%';

/** The host's own decision: a failing data disk (the drive's verdict or a prediction) under IO pressure 75% (weight 40). */
function diskDecision(verdict: DrainVerdict = 'drive', level: 'failing' | 'degraded' = 'failing'): BalanceDecision {
  const inputs: BalanceInputs = {
    disks: [
      { disk: 'wwn-1', device: '/dev/sda', level: 'ok', role: 'data' },
      { disk: 'wwn-2', device: '/dev/sdb', level, role: 'data', roleReason: 'holds /srv/pg of pg', verdict },
    ],
    pressure: { io: 75 },
  };
  const d = decide(inputs, { ...BALANCE_SETTINGS, drainLevel: 'degraded' });
  if (d.state !== 'drain' || !d.diskDrain) throw new Error('the fixture must drain for a disk');
  return d;
}
const healthy = (): BalanceDecision => decide({ pressure: { io: 75 } }, BALANCE_SETTINGS);

async function setup(t: ExecutionContext, settings: Partial<CoordinationSettings> = {}, dir?: string) {
  const stateDir = dir ?? (await tempDir(t));
  const clock = { now: T0 };
  const log = captureLogger();
  const file = new DrainFile(stateDir);
  const c = new DrainCoordination({ ...SETTINGS, ...settings }, { file, logger: log.logger, now: () => clock.now });
  return { c, clock, log, file, stateDir };
}

const answer = (c: DrainCoordination, o: Partial<DrainAnswer> = {}): DrainAnswer => ({
  host: 'db1',
  cluster: 'pg',
  request: c.request()!.id,
  state: 'granted',
  reason: "db1's data disk is failing: drain granted",
  decidedMs: T0 + 5_000,
  leaseExpiresMs: T0 + 605_000,
  collector: 'fleet-1',
  ...o,
});

const fileJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const messages = (lines: Array<Record<string, unknown>>, level?: number) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.msg);

test('coordination disabled: the decision is unchanged and no file is written', async (t) => {
  const { c, file } = await setup(t, { enabled: false });
  t.false(c.enabled);
  const d = diskDecision();
  t.is(c.apply(d, undefined), d);
  t.is(c.request(), undefined);
  t.is(c.state(), undefined);
  t.is(c.deadlineMs(), undefined);
  t.false(existsSync(file.path));
  t.false(c.onAnswer(undefined));
});

test('enabled, but the decision is no disk drain: unchanged, nothing asked', async (t) => {
  const { c, file } = await setup(t);
  const h = healthy();
  t.is(c.apply(h, undefined), h);
  const down = decide({ databases: [{ target: 'pg', down: true }], disks: [{ disk: 'wwn-2', device: '/dev/sdb', level: 'failing', role: 'data', verdict: 'drive' }] }, BALANCE_SETTINGS);
  t.is(down.state, 'down');
  const downNoDisk = decide({ databases: [{ target: 'pg', down: true }] }, BALANCE_SETTINGS);
  t.is(c.apply(downNoDisk, undefined), downNoDisk, 'down is a fact, never asked about');
  t.is(c.request(), undefined);
  t.false(existsSync(file.path));
  // Down with a failing data disk: down is published as it is, and the disk's request is kept
  // meanwhile, so the host does not come back on the disk when the database answers again.
  t.is(c.apply(down, undefined), down);
  const id = c.request()?.id;
  t.truthy(id);
  t.true(c.onAnswer({ host: 'db1', cluster: 'pg', request: id!, state: 'granted', reason: 'r', decidedMs: T0, leaseExpiresMs: T0 + 300_000, collector: 'fleet-1' }));
  t.is(c.apply(down, undefined), down, 'a grant does not lift down');
  t.is(c.apply(diskDecision('drive'), undefined).state, 'drain', 'the database back: drained under the same grant');
  t.is(c.request()?.id, id);
});

test('a disk drain asks: a request is kept in the file and the host stays up at its pressure weight while waiting', async (t) => {
  const { c, clock, log, file } = await setup(t);
  const d = diskDecision('drive');
  const published = c.apply(d, undefined);
  const id = requestId('db1', T0);
  t.regex(id, /^[0-9a-f]{16}$/);
  t.deepEqual(c.request(), { id, sinceMs: T0, verdict: 'drive', level: 'failing', reason: DISK_REASON, disks: ['wwn-2'] });
  t.deepEqual(published, {
    state: 'up',
    weight: 40,
    reasons: ["waiting for the collector's grant to drain (asked at 2025-03-01T12:00:00.000Z)", DISK_REASON, PRESSURE_REASON],
  });
  t.is(c.state(), 'waiting');
  t.is(c.deadlineMs(), T0 + TIMEOUT);
  t.is(c.answer(), undefined);
  // In the state directory, for the next run.
  t.deepEqual(fileJson(file.path), { version: 1, request: { id, sinceMs: T0, verdict: 'drive', level: 'failing', reason: DISK_REASON, disks: ['wwn-2'] }, askedMs: T0 });
  t.deepEqual(new DrainFile(join(file.path, '..')).read(), { record: { request: c.request()!, askedMs: T0 } });
  const warn = log.lines().filter((l) => l.level === 40);
  t.is(warn.length, 1);
  t.like(warn[0], { msg: 'this host would drain for a disk: asking the collector for a grant', request: id, cluster: 'pg', verdict: 'drive', disks: ['wwn-2'] });

  // The same decision later: the same request, asked at the same time, not logged again.
  clock.now = T0 + 30_000;
  const again = c.apply(d, undefined);
  t.is(c.request()!.id, id);
  t.is(again.reasons[0], "waiting for the collector's grant to drain (asked at 2025-03-01T12:00:00.000Z)");
  t.is(log.lines().filter((l) => l.level === 40).length, 1);
});

test('the same episode worse known keeps its id (and a grant held); the file follows', async (t) => {
  const { c, clock, file } = await setup(t);
  c.apply(diskDecision('prediction', 'degraded'), undefined);
  const id = c.request()!.id;
  t.true(c.onAnswer(answer(c)));
  clock.now = T0 + 60_000;
  const d = diskDecision('drive', 'failing');
  const published = c.apply(d, undefined);
  t.is(c.request()!.id, id);
  t.like(c.request(), { verdict: 'drive', level: 'failing', reason: DISK_REASON, sinceMs: T0 });
  t.is(published.state, 'drain', 'the grant still holds');
  t.is(fileJson(file.path).request.verdict, 'drive');
  t.is(fileJson(file.path).answer.state, 'granted');
});

test('a granted answer for the request drains the host', async (t) => {
  const { c, clock, file } = await setup(t);
  const d = diskDecision('prediction');
  c.apply(d, undefined);
  clock.now = T0 + 5_000;
  const a = answer(c);
  t.true(c.onAnswer(a), 'news');
  t.false(c.onAnswer({ ...a }), 'the same answer again: no news');
  t.is(c.state(), 'granted');
  t.is(c.deadlineMs(), undefined);
  t.deepEqual(c.answer(), { request: a.request, state: 'granted', decidedMs: a.decidedMs, collector: 'fleet-1', reason: a.reason });
  const published = c.apply(d, undefined);
  t.deepEqual(published, { ...d, reasons: [DISK_REASON, 'drain granted by the collector fleet-1 at 2025-03-01T12:00:05.000Z'] });
  t.is(published.state, 'drain');
  t.is(published.weight, 0);
  t.deepEqual(fileJson(file.path).answer, { request: a.request, state: 'granted', decidedMs: a.decidedMs, collector: 'fleet-1', reason: a.reason });
  // Long past the timeout, a prediction under a grant still drains.
  clock.now = T0 + 10 * TIMEOUT;
  t.is(c.apply(d, undefined).state, 'drain');
});

test('an answer for another request id is ignored', async (t) => {
  const { c } = await setup(t);
  c.apply(diskDecision(), undefined);
  t.false(c.onAnswer(answer(c, { request: 'ffffffffffffffff' })));
  t.is(c.state(), 'waiting');
  t.is(c.answer(), undefined);
  t.is(c.apply(diskDecision(), undefined).state, 'up');
  // And any answer with no request at all.
  const { c: idle } = await setup(t);
  t.false(idle.onAnswer(answer(c)));
});

test('deferred: the host stays up, saying why; a deferral does not time out', async (t) => {
  const { c, clock } = await setup(t);
  const d = diskDecision('drive');
  c.apply(d, undefined);
  const why = "db1's data disk is failing, but db2 is already out of cluster pg (db2: drain granted)";
  t.true(c.onAnswer(answer(c, { state: 'deferred', reason: why })));
  t.is(c.state(), 'deferred');
  t.is(c.deadlineMs(), undefined);
  const published = c.apply(d, undefined);
  t.deepEqual(published, { state: 'up', weight: 40, reasons: [`drain deferred by the collector: ${why}`, DISK_REASON, PRESSURE_REASON] });
  clock.now = T0 + 10 * TIMEOUT;
  t.is(c.state(), 'deferred');
  t.is(c.apply(d, undefined).state, 'up', 'deferred on the drive\'s verdict: still up, the collector has answered');
  // A new reason is news; then a grant.
  t.true(c.onAnswer(answer(c, { state: 'deferred', reason: 'another reason' })));
  t.is(c.apply(d, undefined).reasons[0], 'drain deferred by the collector: another reason');
  t.true(c.onAnswer(answer(c, { decidedMs: T0 + 900_000 })));
  t.is(c.apply(d, undefined).state, 'drain');
});

test('no answer within grant_timeout: the drive\'s verdict drains', async (t) => {
  const { c, clock } = await setup(t);
  const d = diskDecision('drive');
  c.apply(d, undefined);
  clock.now = T0 + TIMEOUT - 1;
  t.is(c.state(), 'waiting');
  t.is(c.apply(d, undefined).state, 'up');
  clock.now = T0 + TIMEOUT;
  t.is(c.state(), 'unanswered');
  t.deepEqual(c.apply(d, undefined), { ...d, reasons: [DISK_REASON, "no answer from the collector within 2 min: draining on the drive's own verdict"] });
  // A late answer still counts.
  t.true(c.onAnswer(answer(c, { state: 'deferred', reason: 'late' })));
  t.is(c.apply(d, undefined).state, 'up');
});

test('no answer within grant_timeout: a prediction stays up', async (t) => {
  const { c, clock } = await setup(t, { grantTimeoutMs: 90_000 });
  const d = diskDecision('prediction');
  c.apply(d, undefined);
  clock.now = T0 + 90_000;
  t.is(c.state(), 'unanswered');
  t.deepEqual(c.apply(d, undefined), {
    state: 'up',
    weight: 40,
    reasons: ['no answer from the collector within 90 s: a prediction does not drain the host without a grant', DISK_REASON, PRESSURE_REASON],
  });
});

test('a cluster member without MQTT has no collector to ask: the drive\'s verdict drains at once, a prediction never does', async (t) => {
  const { c, log } = await setup(t, { linked: false });
  t.deepEqual(c.apply(diskDecision('drive'), undefined), { ...diskDecision('drive'), reasons: [DISK_REASON, "no collector to ask (mqtt.url is not set): draining on the drive's own verdict"] });
  t.is(c.state(), 'unanswered');
  t.is(c.deadlineMs(), undefined, 'nothing to wait for');
  t.true(messages(log.lines()).some((m) => String(m).includes('with no collector to ask')));
  const { c: p } = await setup(t, { linked: false });
  t.deepEqual(p.apply(diskDecision('prediction'), undefined), {
    state: 'up',
    weight: 40,
    reasons: ['no collector to ask (mqtt.url is not set): a prediction does not drain the host without a grant', DISK_REASON, PRESSURE_REASON],
  });
});

test('a release after a grant: back to waiting, the timeout counted from the release', async (t) => {
  const { c, clock, file } = await setup(t);
  const d = diskDecision('drive');
  c.apply(d, undefined);
  const id = c.request()!.id;
  t.true(c.onAnswer(answer(c)));
  t.is(c.apply(d, undefined).state, 'drain');
  const released = T0 + 600_000;
  clock.now = released;
  t.true(c.onAnswer(undefined));
  t.false(c.onAnswer(undefined), 'released twice: no news');
  t.is(c.request()!.id, id, 'asked again with the same id');
  t.is(c.answer(), undefined);
  t.is(c.state(), 'waiting', 'not unanswered, although the first ask is long past the timeout');
  t.is(c.deadlineMs(), released + TIMEOUT);
  t.deepEqual(c.apply(d, undefined).reasons[0], "waiting for the collector's grant to drain (asked at 2025-03-01T12:10:00.000Z)");
  t.is(c.apply(d, undefined).state, 'up');
  t.deepEqual(fileJson(file.path).askedMs, released);
  t.false('answer' in fileJson(file.path));
  clock.now = released + TIMEOUT - 1;
  t.is(c.apply(d, undefined).state, 'up');
  clock.now = released + TIMEOUT;
  t.is(c.apply(d, undefined).state, 'drain', 'the drive\'s verdict, unanswered since the release');
});

const overrides: Override[] = [
  { mode: 'hold', reason: 'keep serving', by: 'root', setAtMs: T0 },
  { mode: 'drain', reason: 'maintenance', by: 'root', setAtMs: T0 },
];
for (const override of overrides) {
  test(`an operator ${override.mode} drops the request`, async (t) => {
    const { c, clock, file } = await setup(t);
    const d = diskDecision('drive');
    c.apply(d, undefined);
    t.true(c.onAnswer(answer(c)));
    t.is(c.apply(d, override), d, 'the decision is passed on for the override to act on');
    t.is(c.request(), undefined);
    t.is(c.state(), undefined);
    t.deepEqual(fileJson(file.path), { version: 1 });
    t.deepEqual(new DrainFile(join(file.path, '..')).read(), { record: undefined });
    // The override lifted: a new episode, a new id.
    clock.now = T0 + 60_000;
    t.is(c.apply(d, undefined).state, 'up');
    t.is(c.request()!.id, requestId('db1', T0 + 60_000));
    t.not(c.request()!.id, requestId('db1', T0));
  });
}

test('the disk healthy again drops the request and the file\'s record', async (t) => {
  const { c, file, stateDir } = await setup(t);
  c.apply(diskDecision(), undefined);
  t.true(c.onAnswer(answer(c)));
  const h = healthy();
  t.is(c.apply(h, undefined), h);
  t.is(c.request(), undefined);
  t.is(c.answer(), undefined);
  t.is(c.deadlineMs(), undefined);
  t.deepEqual(new DrainFile(stateDir).read(), { record: undefined });
  t.deepEqual(fileJson(file.path), { version: 1 });
});

test('configure: coordination switched off drops the request', async (t) => {
  const { c } = await setup(t);
  const d = diskDecision();
  c.apply(d, undefined);
  c.configure({ ...SETTINGS, enabled: false });
  t.false(c.enabled);
  t.is(c.apply(d, undefined), d);
  t.is(c.request(), undefined);
});

test('a restart keeps the request id and the granted answer: the host stays drained with no collector', async (t) => {
  const first = await setup(t);
  const d = diskDecision('prediction');
  first.c.apply(d, undefined);
  const id = first.c.request()!.id;
  t.true(first.c.onAnswer(answer(first.c)));

  const second = await setup(t, {}, first.stateDir);
  second.clock.now = T0 + 3_600_000;
  second.c.load();
  t.is(second.c.request()!.id, id);
  t.is(second.c.state(), 'granted');
  t.deepEqual(second.c.answer(), first.c.answer());
  const published = second.c.apply(d, undefined);
  t.is(published.state, 'drain', 'a prediction, granted before the restart: drained without a collector');
  t.is(published.reasons[published.reasons.length - 1], 'drain granted by the collector fleet-1 at 2025-03-01T12:00:05.000Z');
  t.is(second.c.request()!.id, id);
  t.like(second.log.lines().find((l) => l.level === 30), { msg: 'drain request picked up from the last run', request: id, answer: 'granted' });
  t.deepEqual(messages(second.log.lines(), 50), []);
});

test('a restart while waiting keeps when it asked: the timeout is not restarted', async (t) => {
  const first = await setup(t);
  const d = diskDecision('drive');
  first.c.apply(d, undefined);
  const second = await setup(t, {}, first.stateDir);
  second.c.load();
  t.like(second.log.lines()[0], { msg: 'drain request picked up from the last run', answer: 'none' });
  second.clock.now = T0 + TIMEOUT;
  t.is(second.c.state(), 'unanswered');
  t.is(second.c.apply(d, undefined).state, 'drain');
  t.is(second.c.request()!.id, requestId('db1', T0));
});

test('load with no file: no request, nothing logged', async (t) => {
  const { c, log } = await setup(t);
  c.load();
  t.is(c.request(), undefined);
  t.deepEqual(log.lines(), []);
});

const damaged: Array<{ title: string; content: string; problem: RegExp }> = [
  { title: 'garbage', content: 'not json {', problem: /is damaged \(.*\); the drain request starts again/ },
  { title: 'a wrong version', content: JSON.stringify({ version: 2, request: { id: 'x' } }), problem: /version 2, not 1/ },
  { title: 'no version', content: '{}', problem: /version undefined, not 1/ },
  { title: 'a bad request', content: JSON.stringify({ version: 1, request: { id: 'abc', sinceMs: 'now' }, askedMs: 0 }), problem: /its request is not valid/ },
  {
    title: 'a bad answer',
    content: JSON.stringify({ version: 1, request: { id: 'abc', sinceMs: 1, verdict: 'drive', level: 'failing', reason: 'r', disks: [] }, askedMs: 1, answer: { state: 'granted' } }),
    problem: /its answer is not valid/,
  },
  { title: 'null', content: 'null', problem: /not a JSON object/ },
];
for (const { title, content, problem } of damaged) {
  test(`a damaged file (${title}) is reported once and treated as no request`, async (t) => {
    const dir = await tempDir(t);
    writeFileSync(join(dir, DRAIN_FILE), content);
    const { c, log, file } = await setup(t, {}, dir);
    c.load();
    t.is(c.request(), undefined);
    const errors = log.lines().filter((l) => l.level === 50);
    t.is(errors.length, 1);
    t.is(errors[0]!.msg, 'the drain request file is not valid; the host asks the collector again if it needs to drain');
    t.regex(String(errors[0]!.problem), problem);
    // The host asks again, and the file is good again.
    const d = diskDecision();
    t.is(c.apply(d, undefined).state, 'up');
    c.apply(d, undefined);
    t.is(log.lines().filter((l) => l.level === 50).length, 1, 'said once');
    t.is(fileJson(file.path).request.id, c.request()!.id);
    t.deepEqual(new DrainFile(dir).read().problem, undefined);
  });
}

test('a write failure is logged once; the coordination works in memory, and the recovery is said', async (t) => {
  const dir = await tempDir(t);
  // The file's path is a directory: the rename over it fails (as root, a read-only directory would not).
  mkdirSync(join(dir, DRAIN_FILE));
  const { c, log, clock } = await setup(t, {}, dir);
  const d = diskDecision('prediction');
  t.is(c.apply(d, undefined).state, 'up');
  t.is(c.state(), 'waiting');
  const id = c.request()!.id;
  t.true(c.onAnswer(answer(c)), 'the answer is taken though it cannot be saved');
  t.is(c.apply(d, undefined).state, 'drain');
  clock.now = T0 + 60_000;
  t.true(c.onAnswer(undefined));
  t.is(c.state(), 'waiting');
  t.is(c.request()!.id, id);
  const errors = log.lines().filter((l) => l.level === 50);
  t.is(errors.length, 1, 'three failed writes, one error');
  t.is(errors[0]!.msg, 'cannot save the drain request (is the state directory full?); it holds in memory, and a restart asks the collector again');
  t.is(errors[0]!.file, join(dir, DRAIN_FILE));
  t.truthy(errors[0]!.err);

  rmdirSync(join(dir, DRAIN_FILE));
  t.true(c.onAnswer(answer(c, { state: 'deferred', reason: 'later' })));
  t.like(log.lines().find((l) => l.level === 30 && l.msg === 'the drain request file is written again'), { file: join(dir, DRAIN_FILE) });
  t.is(fileJson(join(dir, DRAIN_FILE)).answer.state, 'deferred');
});

test('a DrainFile inside a regular file: read reports it, write throws, the coordination holds in memory', async (t) => {
  const dir = await tempDir(t);
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'x');
  const file = new DrainFile(plain);
  t.regex(file.read().problem ?? '', /cannot be read \(ENOTDIR\)/);
  t.throws(() => file.write(undefined), { code: 'ENOTDIR' });
  const { c, log } = await setup(t, {}, plain);
  c.load();
  t.is(log.lines().filter((l) => l.level === 50).length, 1, 'the unreadable file');
  c.apply(diskDecision(), undefined);
  t.is(c.state(), 'waiting');
  t.is(log.lines().filter((l) => l.level === 50).length, 2, 'and the write failure, once');
  c.apply(diskDecision(), undefined);
  t.true(c.onAnswer(answer(c)));
  t.is(log.lines().filter((l) => l.level === 50).length, 2);
});

test('requestId: 16 hex digits, by host and start', (t) => {
  t.regex(requestId('db1', T0), /^[0-9a-f]{16}$/);
  t.is(requestId('db1', T0), requestId('db1', T0));
  t.not(requestId('db1', T0), requestId('db2', T0));
  t.not(requestId('db1', T0), requestId('db1', T0 + 1));
});
