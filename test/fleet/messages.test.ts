import { readFileSync } from 'node:fs';
import test from 'ava';
import { parseMessage, parseTopic } from '../../src/fleet/messages.js';
import { parseDrainAnswer } from '../../src/protocol/drain-grant.js';
import { Ingest } from '../../src/fleet/ingest.js';
import type { FleetStore } from '../../src/fleet/store.js';
import { captureLogger } from '../helpers/logger.js';
import { repoPath } from '../helpers/tmp.js';

const ROOT = 'harbinger/v1';
const AT = Date.parse('2026-11-28T18:20:00.000Z');

/** The worked examples of docs/events.md: what an agent (and, for the grant, a collector) publishes, word for word. */
const EXAMPLES = [...readFileSync(repoPath('docs/events.md'), 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as Record<string, any>);
if (EXAMPLES.length !== 7) {
  throw new Error(`docs/events.md: expected 7 JSON examples (status, disk state, disk event, balance event, balance report, drain answer, drain deferred), found ${EXAMPLES.length}`);
}
type Example = Record<string, any>;
const [STATUS, DISK, EVENT, BALANCE, REPORT, GRANT, DEFERRED] = EXAMPLES as [Example, Example, Example, Example, Example, Example, Example];
const DISK_TOPIC = `${ROOT}/db1/disks/wwn-5000cca37fca81a8`;
const EVENT_TOPIC = `${ROOT}/db1/events/failure_predicted`;

const parse = (topic: string, payload: unknown) => parseMessage(ROOT, topic, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), AT);
const invalidReason = (topic: string, payload: unknown) => {
  const parsed = parse(topic, payload);
  return parsed.kind === 'invalid' ? parsed.reason : `not invalid: ${parsed.kind}`;
};

test('topics under the root: status, disks/<slot>, events/<kind>; anything else is not ours', (t) => {
  t.deepEqual(parseTopic(ROOT, `${ROOT}/db1/status`), { kind: 'status', host: 'db1' });
  t.deepEqual(parseTopic(ROOT, DISK_TOPIC), { kind: 'disk', host: 'db1', slot: 'wwn-5000cca37fca81a8' });
  t.deepEqual(parseTopic(ROOT, EVENT_TOPIC), { kind: 'event', host: 'db1', eventKind: 'failure_predicted' });
  for (const topic of ['harbinger/v2/db1/status', `${ROOT}/db1`, `${ROOT}/db1/status/x`, `${ROOT}/db1/disks`, `${ROOT}//status`, `${ROOT}/db1/other/x`]) {
    t.is(parseTopic(ROOT, topic), undefined, topic);
  }
  t.like(parse('elsewhere/x', '{}'), { kind: 'invalid', messageKind: 'topic' });
});

test('the documented status payload becomes a host status; the Will (no time) too', (t) => {
  t.deepEqual(parse(`${ROOT}/db1/status`, STATUS), {
    kind: 'status',
    status: { host: 'db1', state: 'online', version: '0.1.0', boot: 1, started: STATUS.started, receivedMs: AT },
  });
  const will = { state: 'offline', host: 'db1', version: '0.1.0', started: STATUS.started, boot: 1, reason: 'connection lost' };
  t.like(parse(`${ROOT}/db1/status`, will), { kind: 'status', status: { state: 'offline', reason: 'connection lost' } });
});

test('the documented disk state becomes a disk record, timestamps normalised', (t) => {
  const parsed = parse(DISK_TOPIC, { ...DISK, last_reading: '2026-11-28T19:18:00+01:00' });
  if (parsed.kind !== 'disk') return t.fail(parsed.kind);
  t.like(parsed.disk, {
    host: 'db1',
    disk: 'wwn-5000cca37fca81a8',
    slot: 'wwn-5000cca37fca81a8',
    device: 'sdb',
    model: 'Hitachi HDS721050DLE630',
    serial: 'MSK423Y20S3HBC',
    protocol: 'ata',
    level: 'degraded',
    predictedLevel: 'degraded',
    probability: DISK.probability,
    horizonDays: 30,
    replaceBy: DISK.replace_by,
    episodeStarted: DISK.episode_started,
    lastReading: '2026-11-28T18:18:00.000Z',
    updatedMs: AT,
  });
  t.is(parsed.disk.evidence.length, 2);
  t.is(parsed.disk.evidence[0]!.signal, 'reallocated_sectors_growth_7d');
});

test('the documented event becomes a stored event, keyed by source and id', (t) => {
  const parsed = parse(EVENT_TOPIC, EVENT);
  if (parsed.kind !== 'event') return t.fail(parsed.kind);
  t.like(parsed.event, {
    source: 'harbinger://db1',
    id: EVENT.id,
    type: 'io.harbinger.disk.failure_predicted.v1',
    subject: 'wwn-5000cca37fca81a8',
    time: EVENT.time,
    host: 'db1',
    disk: 'wwn-5000cca37fca81a8',
    receivedMs: AT,
  });
  t.deepEqual(parsed.event.data, EVENT.data);
});

test('a host event (io.harbinger.host.*) is stored without a disk', (t) => {
  const parsed = parse(`${ROOT}/db1/events/balance_changed`, BALANCE);
  if (parsed.kind !== 'event') return t.fail(parsed.kind);
  t.like(parsed.event, { host: 'db1', disk: '', subject: 'db1', type: 'io.harbinger.host.balance_changed.v1' });
  const noDiskInData = parse(EVENT_TOPIC, { ...EVENT, data: { level: 'failing' } });
  t.like(noDiskInData, { kind: 'event', event: { disk: 'wwn-5000cca37fca81a8' } }, 'a disk event without data.disk: its subject');
});

test('empty retained payloads clear: a disk is gone, a host is forgotten', (t) => {
  t.deepEqual(parse(DISK_TOPIC, ''), { kind: 'disk-cleared', host: 'db1', slot: 'wwn-5000cca37fca81a8' });
  t.deepEqual(parse(`${ROOT}/db1/status`, ''), { kind: 'host-cleared', host: 'db1' });
  t.regex(invalidReason(EVENT_TOPIC, ''), /empty payload/);
});

test('bad payloads are invalid with a reason, never a throw', (t) => {
  t.regex(invalidReason(`${ROOT}/db1/status`, '{"state":'), /not JSON/);
  t.regex(invalidReason(`${ROOT}/db1/status`, '[1,2]'), /not a JSON object/);
  t.regex(invalidReason(`${ROOT}/db1/status`, { ...STATUS, state: 'sleeping' }), /state must be online or offline/);
  t.regex(invalidReason(`${ROOT}/db1/status`, { ...STATUS, host: 'db2' }), /does not match the topic's db1/);
  t.regex(invalidReason(`${ROOT}/db1/status`, { ...STATUS, boot: 0 }), /boot/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, level: 'doomed' }), /level must be one of ok, watch, degraded, failing/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, probability: 1.5 }), /probability/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, disk: 'wwn-other' }), /does not match the topic's wwn-5000cca37fca81a8/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, last_reading: 'yesterday' }), /last_reading is not an RFC 3339 date-time/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, replace_by: '8 Dec' }), /replace_by/);
  t.regex(invalidReason(DISK_TOPIC, { ...DISK, evidence: 'lots' }), /evidence must be a list/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, specversion: '0.3' }), /specversion/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, id: '' }), /id must be a non-empty string/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, id: 'x'.repeat(201) }), /longer than 200/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, source: 'harbinger://db2' }), /source harbinger:\/\/db2 does not match the topic's host db1/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, data: [1] }), /data must be a JSON object/);
  t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, time: 'soon' }), /time is not an RFC 3339 date-time/);
  t.like(parse(`${ROOT}/db1/status`, 'x'), { kind: 'invalid', messageKind: 'status', host: 'db1' });
});

test('malformed evidence entries are dropped, the disk state is kept', (t) => {
  const parsed = parse(DISK_TOPIC, { ...DISK, evidence: [{ signal: 'x' }, DISK.evidence[1], 'junk'] });
  if (parsed.kind !== 'disk') return t.fail(parsed.kind);
  t.deepEqual(parsed.disk.evidence, [DISK.evidence[1]]);
});

test('the documented balance report, drain answer and drain_deferred event are what the collector and the agent accept', (t) => {
  const report = parse(`${ROOT}/db1/balance`, REPORT);
  if (report.kind !== 'balance' || !report.report) return t.fail(`not a balance report: ${JSON.stringify(report)}`);
  t.like(report.report, { host: 'db1', cluster: 'postgres', capacity: 1, state: 'up', weight: 100, own: { state: 'drain' }, request: { id: GRANT.request, verdict: 'drive', level: 'failing' }, answer: { state: 'deferred' } });
  t.is(report.report.load.cpuUtilization, 0.41);
  t.like(parseDrainAnswer('db1', JSON.stringify(GRANT)), { host: 'db1', cluster: 'postgres', request: GRANT.request, state: 'deferred', reason: GRANT.reason });
  t.like(parse(`${ROOT}/db1/events/drain_deferred`, DEFERRED), { kind: 'event', event: { type: 'io.harbinger.host.drain_deferred.v1', host: 'db1', subject: 'db1', disk: '' } });
});

test('dates are checked as dates: an impossible replace_by or timestamp is refused, real ones (a leap day too) are taken', (t) => {
  for (const replaceBy of ['2026-02-30', '2026-02-31', '2026-13-01', '0000-00-00', '2026-04-31', '2027-02-29', '2100-02-29', '2026-00-10', '2026-1-01', '2026-12-08T00:00:00Z']) {
    t.regex(invalidReason(DISK_TOPIC, { ...DISK, replace_by: replaceBy }), /replace_by must be a real date/, replaceBy);
  }
  for (const replaceBy of ['2028-02-29', '2000-02-29', '2026-12-31', '2026-04-30']) {
    t.like(parse(DISK_TOPIC, { ...DISK, replace_by: replaceBy }), { kind: 'disk', disk: { replaceBy } }, replaceBy);
  }
  // What Date.parse takes and RFC 3339 does not: impossible days and times, no zone, other forms.
  const badTimes = [
    '2026-02-31T00:00:00Z',
    '2026-02-30T12:00:00.000Z',
    '2026-13-01T00:00:00Z',
    '0000-00-00T00:00:00Z',
    '2026-11-28T24:00:00Z',
    '2026-11-28T12:60:00Z',
    '2026-11-28T12:00:60Z',
    '2026-11-28T18:17:59',
    '2026-11-28 18:17:59Z',
    '2026-11-28T18:17:59+0100',
    '2026-11-28',
    'Sat, 28 Nov 2026 18:17:59 GMT',
    '1',
  ];
  for (const time of badTimes) {
    t.regex(invalidReason(DISK_TOPIC, { ...DISK, last_reading: time }), /last_reading is not an RFC 3339 date-time/, time);
    t.regex(invalidReason(DISK_TOPIC, { ...DISK, episode_started: time }), /episode_started is not an RFC 3339 date-time/, time);
    t.regex(invalidReason(EVENT_TOPIC, { ...EVENT, time }), /time is not an RFC 3339 date-time/, time);
    t.regex(invalidReason(`${ROOT}/db1/status`, { ...STATUS, started: time }), /started is not an RFC 3339 date-time/, time);
  }
  const goodTimes: Array<[string, string]> = [
    ['2028-02-29T23:59:59.999Z', '2028-02-29T23:59:59.999Z'],
    ['2026-11-28T19:17:59.028+01:00', '2026-11-28T18:17:59.028Z'],
    ['2026-11-28t18:17:59z', '2026-11-28T18:17:59.000Z'],
    ['2026-12-31T23:59:60Z', '2027-01-01T00:00:00.000Z'],
  ];
  for (const [time, stored] of goodTimes) t.like(parse(DISK_TOPIC, { ...DISK, last_reading: time }), { kind: 'disk', disk: { lastReading: stored } }, time);
});

test('the ingest counts and logs a disk state with an impossible replace_by as the other invalid messages', async (t) => {
  const { logger, lines } = captureLogger();
  let stored = 0;
  const ingest = new Ingest({ store: { putDisk: async () => void stored++ } as unknown as FleetStore, logger, topicRoot: ROOT, now: () => AT });
  t.is(await ingest.handle(DISK_TOPIC, Buffer.from(JSON.stringify({ ...DISK, replace_by: '2026-02-30' }))), 'invalid');
  t.is(ingest.stats.invalid.disk, 1);
  t.is(stored, 0);
  t.like(lines().find((l) => String(l.msg).startsWith('invalid message ignored')), { host: 'db1', reason: 'replace_by must be a real date like 2026-12-08: 2026-02-30' });
});
