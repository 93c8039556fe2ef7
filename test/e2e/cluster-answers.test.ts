import test from 'ava';
import { healthOf, startMember } from '../helpers/cluster.js';
import { publisher, ROOT } from '../helpers/fleet-service.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/tools.js';

test('only a real answer to its own request drains a member: garbage, another host\'s answer and an answer to another request are ignored; a release asks again', async (t) => {
  const broker = await startMosquitto(t);
  // No collector: the test answers, as a collector (or an intruder on the grant topic) would.
  const member = await startMember(t, 'db1', broker.url, { failing: true });
  const waiting = await waitFor('db1 asking', async () => {
    const b = (await healthOf(member)).balance;
    return b.drain_request?.state === 'waiting' ? b : undefined;
  }, 30_000);
  t.is(waiting.state, 'up');
  const request = waiting.drain_request!.id;
  const mqtt = await publisher(t, broker.url);
  const topic = `${ROOT}/db1/grant`;
  const answer = (fields: Record<string, unknown>) => ({
    host: 'db1', cluster: 'pg-main', request, state: 'granted', reason: "db1's data disk is failing: drain granted",
    decided: new Date().toISOString(), lease_expires: new Date(Date.now() + 300_000).toISOString(), collector: 'fleet-test', ...fields,
  });
  const hostile: unknown[] = [
    'not json at all',
    '{"host":"db1","state":"granted"}',
    answer({ host: 'db2' }),
    answer({ state: 'drain-now' }),
    'x'.repeat(200_000),
  ];
  for (const payload of hostile) await mqtt.publish(topic, payload, true);
  // Valid answers, but to a request it does not have: ignored too.
  await mqtt.publish(topic, answer({ request: '0123456789abcdef' }), true);
  await mqtt.publish(topic, answer({ request: 'fedcba9876543210', state: 'deferred', lease_expires: null }), true);
  const invalidSaid = () => member.agent.logs().filter((l) => String(l.msg).startsWith('invalid drain answer ignored')).length;
  await waitFor('the agent to have read them', async () => (invalidSaid() >= 1 ? true : undefined));
  const after = (await healthOf(member)).balance;
  t.is(after.state, 'up', 'nothing but a valid answer to its own request drains it');
  t.like(after.drain_request, { id: request, state: 'waiting', answer: null });
  t.is(invalidSaid(), 1, 'said once, not per message');

  await mqtt.publish(topic, answer({}), true);
  await waitFor('drained under the grant', async () => ((await healthOf(member)).balance.state === 'drain' ? true : undefined));
  t.like((await healthOf(member)).balance.drain_request, { state: 'granted' });

  // Released while the disk still fails: back in the pool, asking again, the timeout counted anew.
  await mqtt.publish(topic, '', true);
  await waitFor('back to waiting', async () => {
    const b = (await healthOf(member)).balance;
    return b.state === 'up' && b.drain_request?.state === 'waiting' ? true : undefined;
  });
  t.true(member.agent.logs().some((l) => String(l.msg).startsWith('the collector released the drain grant while the host still needs it')));
});
