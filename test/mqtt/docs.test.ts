import { readFileSync } from 'node:fs';
import test from 'ava';
import { Registry } from 'prom-client';
import { registerMqttMetrics } from '../../src/mqtt/metrics.js';
import { schemaProblems } from '../helpers/mqtt-subscriber.js';
import { repoPath } from '../helpers/tmp.js';

test('the worked examples in docs/events.md match the published schemas', (t) => {
  const doc = readFileSync(repoPath('docs/events.md'), 'utf8');
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.is(blocks.length, 7);
  const [status, disk, event, balance, report, grant, deferred] = blocks as [string, string, string, string, string, string, string];
  t.deepEqual(schemaProblems('harbinger/v1/db1/status', status), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/disks/wwn-5000cca37fca81a8', disk), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/events/failure_predicted', event), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/events/balance_changed', balance), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/balance', report), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/grant', grant), []);
  t.deepEqual(schemaProblems('harbinger/v1/db1/events/drain_deferred', deferred), []);
  // The cluster example is one conversation: the report holds the answer the grant topic carries.
  const [r, g, d] = [JSON.parse(report), JSON.parse(grant), JSON.parse(deferred)];
  t.is(r.answer.request, g.request);
  t.is(r.request.id, g.request);
  t.is(d.data.request, g.request);
  t.is(d.data.reason, g.reason);
  t.is(r.reasons[0], `drain deferred by the collector: ${g.reason}`);
});

test('a drain_deferred event may carry its reason; a disk event other than cleared may not', (t) => {
  const blocks = [...readFileSync(repoPath('docs/events.md'), 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  const [, , diskEvent, , , , deferred] = blocks;
  t.deepEqual(schemaProblems('harbinger/v1/db1/events/drain_deferred', JSON.stringify(deferred)), []);
  const withReason = { ...diskEvent, data: { ...diskEvent.data, reason: 'recovered' } };
  t.true(schemaProblems('harbinger/v1/db1/events/failure_predicted', JSON.stringify(withReason)).length > 0);
  const withoutReason = structuredClone(deferred);
  delete withoutReason.data.reason;
  t.true(schemaProblems('harbinger/v1/db1/events/drain_deferred', JSON.stringify(withoutReason)).length > 0);
});

test('the schemas reject what they should: an unknown level, a missing reason on cleared, a bad id', (t) => {
  const event = JSON.parse(readFileSync(repoPath('docs/events.md'), 'utf8').match(/```json\n([\s\S]*?)```/g)![2]!.slice(8, -3));
  const bad = (mutate: (e: any) => void) => {
    const copy = structuredClone(event);
    mutate(copy);
    return schemaProblems('harbinger/v1/db1/events/x', JSON.stringify(copy)).length;
  };
  t.true(bad((e) => (e.data.level = 'doomed')) > 0);
  t.true(bad((e) => (e.type = 'io.harbinger.disk.cleared.v1')) > 0, 'cleared needs a reason');
  t.true(bad((e) => (e.id = 'not-hex')) > 0);
  t.true(bad((e) => (e.data.previous_level = 'degraded')) > 0, 'failure predicted comes from below degraded');
  t.is(bad(() => {}), 0);
});

test('the README lists every MQTT metric family', async (t) => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const registry = new Registry();
  registerMqttMetrics(registry, () => ({ connected: true, eventsPublished: 1, eventsFailed: 0, eventsDropped: 0, lastPublishMs: 1, connectErrors: {}, outboxDepth: 0, outboxVolatile: false }));
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  t.true(names.length >= 8);
  for (const name of names) t.true(readme.includes(`\`${name}\``), `README misses ${name}`);
});
