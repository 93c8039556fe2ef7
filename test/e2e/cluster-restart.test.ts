import test from 'ava';
import { addFailingDisk, healthOf, startMember, waitForAnswers, type Member } from '../helpers/cluster.js';
import { startCollector, type RunningCollector } from '../helpers/fleet.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const stateOf = async (m: Member) => (await healthOf(m)).balance;

test('the collector killed with grants outstanding: the granted drain holds, the deferred host stays up, a new request drains on the drive\'s own verdict only; restarted, no grant is lost or doubled', async (t) => {
  const broker = await startMosquitto(t);
  const store = await tempDir(t);
  const collectorArgs = ['--mqtt.url', broker.url, '--mqtt.reconnect-max-backoff', '2s', '--fleet.group', '', '--state-dir', store];
  let collector: RunningCollector = await startCollector(t, collectorArgs);
  const members = {
    db1: await startMember(t, 'db1', broker.url, { failing: true }),
    db2: await startMember(t, 'db2', broker.url, { failing: true }),
    // Asked while the collector is away: db3 for a prediction (drain_level degraded, the drive still
    // says PASSED), db4 for the drive's own verdict (SMART FAILED).
    db3: await startMember(t, 'db3', broker.url, { failing: false, grantTimeout: '3s', extra: ['--balance.drain-level', 'degraded'] }),
    db4: await startMember(t, 'db4', broker.url, { failing: false, grantTimeout: '3s' }),
  };
  const before = await waitForAnswers(collector.url, 1, 1);
  const granted = members[before.granted[0] as 'db1' | 'db2'];
  const deferred = members[before.deferred[0]!.host as 'db1' | 'db2'];
  const grantedAnswer = before.members.find((m) => m.host === granted.host)!.answer!;
  await waitFor('the granted host drained', async () => ((await stateOf(granted)).state === 'drain' ? true : undefined));

  collector.process.kill('SIGKILL');
  await collector.exited;

  // While the collector is away.
  await addFailingDisk(members.db3.replay, true);
  await addFailingDisk(members.db4.replay);
  const db4 = await waitFor('db4 drained on the drive\'s own verdict', async () => {
    const s = await stateOf(members.db4);
    return s.state === 'drain' && s.drain_request?.state === 'unanswered' ? s : undefined;
  }, 30_000);
  t.is(db4.drain_request!.verdict, 'drive');
  t.regex(db4.reasons.join('\n'), /no answer from the collector within 3 s: draining on the drive's own verdict/);
  const db3 = await waitFor('db3 unanswered, still up', async () => {
    const s = await stateOf(members.db3);
    return s.drain_request?.state === 'unanswered' ? s : undefined;
  }, 30_000);
  t.is(db3.state, 'up', 'a prediction does not drain without the collector');
  t.is(db3.drain_request!.verdict, 'prediction');
  t.regex(db3.reasons[0]!, /a prediction does not drain the host without a grant/);
  t.is((await stateOf(granted)).state, 'drain', 'the granted drain holds with the collector gone');
  t.like((await stateOf(deferred)), { state: 'up', drain_request: { state: 'deferred' } }, 'a deferral is an answer: the host stays up');

  // Back, on the same store.
  collector = await startCollector(t, collectorArgs);
  const after = await waitForAnswers(collector.url, 2, 2, 30_000);
  t.deepEqual(after.granted, [granted.host, 'db4'].sort(), 'the grant kept, and db4\'s own drain recorded against the budget');
  t.deepEqual(after.deferred.map((d) => d.host).sort(), [deferred.host, 'db3'].sort());
  t.deepEqual(after.members.find((m) => m.host === granted.host)!.answer, grantedAnswer, 'the same grant, not a new one');
  t.is(collector.logs().filter((l) => String(l.msg).startsWith('drain granted')).length, 0, 'nothing granted twice');
  t.is(collector.logs().filter((l) => String(l.msg).startsWith('drain recorded') && l.host === 'db4').length, 1);
  await waitFor('db4 holds the recorded grant', async () => ((await stateOf(members.db4)).drain_request?.state === 'granted' ? true : undefined));
  await waitFor('db3 holds its deferral', async () => ((await stateOf(members.db3)).drain_request?.state === 'deferred' ? true : undefined));
  t.is((await stateOf(members.db3)).state, 'up');
});
