import test from 'ava';
import { balanceReportJson, balanceTopic, parseBalanceReport, type BalanceReport } from '../../src/protocol/balance-report.js';
import { drainAnswerJson, grantTopic, parseDrainAnswer, type DrainAnswer } from '../../src/protocol/drain-grant.js';
import { MAX_PAYLOAD_BYTES, PayloadError } from '../../src/protocol/fields.js';
import { schemaProblems } from '../helpers/mqtt-subscriber.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const TOPIC = 'harbinger/v1/db1/balance';

/** Every field set, so that a round trip loses nothing. */
const FULL: BalanceReport = {
  host: 'db1',
  cluster: 'pg-main',
  capacity: 2,
  timeMs: NOW,
  reportIntervalSeconds: 30,
  state: 'up',
  weight: 40,
  reasons: ["waiting for the collector's grant to drain (asked at 2025-03-01T11:59:00.000Z)", 'disk wwn-1 (/dev/sdb) is failing and holds database data: replace it', 'IO pressure 75% is above 30%'],
  sinceMs: NOW - 60_000,
  decidedBy: 'harbinger',
  own: { state: 'drain', weight: 0, reasons: ['disk wwn-1 (/dev/sdb) is failing and holds database data: replace it'] },
  override: null,
  request: { id: '0123456789abcdef', sinceMs: NOW - 60_000, verdict: 'drive', level: 'failing', reason: 'disk wwn-1 (/dev/sdb) is failing and holds database data: replace it', disks: ['wwn-1'] },
  answer: { request: '0123456789abcdef', state: 'deferred', decidedMs: NOW - 30_000, collector: 'harbinger-fleet-a' },
  load: {
    cpuUtilization: 0.42,
    cores: 16,
    pressure: { cpu: 12.5, memory: 0, io: 75 },
    databases: [
      { target: 'pg', latencySeconds: 0.002, statementsPerSecond: 1500, connections: 80, maxConnections: 100 },
      { target: 'pg-replica', latencySeconds: 0.004 },
    ],
  },
};

const json = (r: BalanceReport) => JSON.stringify(balanceReportJson(r));

/** A field changed in the JSON of FULL: `path` is a list of keys. */
function mutate(path: Array<string | number>, value: unknown, base: object = balanceReportJson(FULL)): string {
  const o = structuredClone(base) as any;
  let at = o;
  for (const key of path.slice(0, -1)) at = at[key];
  if (value === undefined) delete at[path[path.length - 1]!];
  else at[path[path.length - 1]!] = value;
  return JSON.stringify(o);
}

/** Refused with a PayloadError (never another exception), the message matching `why`. */
function refused(t: import('ava').ExecutionContext, parse: () => unknown, why: RegExp) {
  const err = t.throws(parse, { instanceOf: PayloadError });
  t.is(err?.name, 'PayloadError');
  t.regex(err?.message ?? '', why);
}

test('a full report passes the schema and round-trips', (t) => {
  const text = json(FULL);
  t.is(balanceTopic('harbinger/v1', 'db1'), TOPIC);
  t.deepEqual(schemaProblems(TOPIC, text), []);
  t.deepEqual(parseBalanceReport('db1', text), FULL);
});

test('a drained report under an operator override with a granted answer passes and round-trips', (t) => {
  const r: BalanceReport = {
    ...FULL,
    state: 'drain',
    weight: 0,
    decidedBy: 'operator',
    override: { mode: 'drain', reason: 'kernel update', by: 'root (sudo: alice)', since: '2025-03-01T11:00:00.000Z', until: '2025-03-01T13:00:00.000Z' },
    answer: { request: '0123456789abcdef', state: 'granted', decidedMs: NOW - 30_000, collector: 'harbinger-fleet-a' },
  };
  t.deepEqual(schemaProblems(TOPIC, json(r)), []);
  t.deepEqual(parseBalanceReport('db1', json(r)), r);
});

test('a bare report (no cluster, request, answer, CPU or PSI) passes the schema and round-trips', (t) => {
  const r: BalanceReport = { ...FULL, reasons: [], own: { state: 'up', weight: 100, reasons: [] }, load: { databases: [] } };
  delete r.cluster;
  delete r.request;
  delete r.answer;
  const text = json(r);
  const o = JSON.parse(text);
  t.is(o.cluster, null);
  t.is(o.request, null);
  t.is(o.answer, null);
  t.deepEqual(o.load, { cpu_utilization: null, cores: null, pressure: null, databases: [] });
  t.deepEqual(schemaProblems(TOPIC, text), []);
  t.deepEqual(parseBalanceReport('db1', text), r);
  // PSI partly read: the missing ones are null, and left out again on parsing.
  const partial: BalanceReport = { ...r, load: { pressure: { io: 3 }, databases: [] } };
  t.deepEqual(JSON.parse(json(partial)).load.pressure, { cpu: null, memory: null, io: 3 });
  t.deepEqual(schemaProblems(TOPIC, json(partial)), []);
  t.deepEqual(parseBalanceReport('db1', json(partial)), partial);
});

test('hostile reports are refused with a PayloadError', (t) => {
  const parse = (payload: string, host = 'db1') => () => parseBalanceReport(host, payload);
  refused(t, parse('not json'), /not JSON/);
  refused(t, parse(''), /empty payload/);
  refused(t, parse('[1,2]'), /not a JSON object/);
  refused(t, parse('null'), /not a JSON object/);
  refused(t, parse('"db1"'), /not a JSON object/);
  refused(t, parse('42'), /not a JSON object/);
  refused(t, parse(json(FULL), 'db2'), /does not match the topic's db2/);
  refused(t, parse(mutate(['host'], 'db2')), /does not match/);
  refused(t, parse(mutate(['host'], undefined)), /does not match/);
  for (const cluster of ['pg#1', 'pg/main', 'pg+', '#']) refused(t, parse(mutate(['cluster'], cluster)), /cluster must not contain/);
  refused(t, parse(mutate(['cluster'], '')), /cluster must be a non-empty string/);
  refused(t, parse(mutate(['cluster'], 'x'.repeat(201))), /cluster is longer than 200/);
  refused(t, parse(mutate(['capacity'], 0)), /capacity must be more than 0/);
  refused(t, parse(mutate(['capacity'], -1)), /capacity must be a number/);
  refused(t, parse(mutate(['capacity'], '2')), /capacity must be a number/);
  refused(t, parse(mutate(['capacity'], 2e6)), /capacity must be a number/);
  refused(t, parse(mutate(['weight'], 500)), /weight must be a number from 0 to 100/);
  refused(t, parse(mutate(['own', 'weight'], 500)), /weight must be a number from 0 to 100/);
  refused(t, parse(mutate(['state'], 'maybe')), /state must be one of up, drain, down/);
  refused(t, parse(mutate(['time'], 'yesterday')), /time is not an RFC 3339 date-time/);
  refused(t, parse(mutate(['report_interval_seconds'], 0)), /report_interval_seconds/);
  refused(t, parse(mutate(['request', 'verdict'], 'hunch')), /verdict must be one of drive, prediction/);
  refused(t, parse(mutate(['request', 'level'], 'ok')), /level must be one of degraded, failing/);
  refused(t, parse(mutate(['request'], 'please')), /request must be an object/);
  refused(t, parse(mutate(['answer', 'state'], 'maybe')), /state must be one of granted, deferred/);
  refused(t, parse(mutate(['reasons'], [1, 2])), /reasons\[0\] must be a string/);
  refused(t, parse(mutate(['reasons'], 'a reason')), /reasons must be a list/);
  refused(t, parse(mutate(['reasons'], Array.from({ length: 33 }, () => 'r'))), /reasons must be a list of at most 32/);
  refused(t, parse(mutate(['own', 'reasons'], [{}])), /reasons\[0\] must be a string/);
  refused(t, parse(mutate(['override'], 'drain')), /override must be an object or null/);
  refused(t, parse(mutate(['override'], { mode: 'panic', reason: 'r', by: 'b', since: 's', until: null })), /mode must be one of drain, hold/);
  refused(t, parse(mutate(['load', 'cpu_utilization'], 1.5)), /cpu_utilization must be a number from 0 to 1/);
  refused(t, parse(mutate(['load', 'databases'], null)), /load.databases must be a list/);
  refused(t, parse(mutate(['load', 'databases', 0], 'pg')), /load.databases\[0\] must be an object/);
  refused(t, parse(mutate(['load', 'databases', 0, 'connections'], -5)), /connections must be a number/);
  refused(t, parse(mutate(['load'], undefined)), /load must be an object/);
  refused(t, parse(mutate(['own'], undefined)), /own must be an object/);
});

test('oversized reports are refused before they are parsed', (t) => {
  const big = `{"host":"db1","reasons":["${'a'.repeat(10 * 1024 * 1024)}"]}`;
  refused(t, () => parseBalanceReport('db1', big), /more than 65536/);
  refused(t, () => parseBalanceReport('db1', ' '.repeat(MAX_PAYLOAD_BYTES + 1)), /more than 65536/);
  // 10,000 databases fit in 20 kB ("1," each): refused by their count, not by the size.
  const many = mutate(['load', 'databases'], Array.from({ length: 10_000 }, () => 1));
  t.true(many.length < MAX_PAYLOAD_BYTES);
  refused(t, () => parseBalanceReport('db1', many), /load.databases must be a list of at most 64/);
  const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
  refused(t, () => parseBalanceReport('db1', deep), /not a JSON object|not JSON/);
});

const HOSTILE: unknown[] = [null, 0, -1, 1e308, '', 'x', 'x'.repeat(5000), true, [], [null], {}, { a: 1 }, '2025-13-45T99:00:00Z'];

/** Every path to a value in a JSON object. */
function paths(o: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof o !== 'object' || o === null) return [prefix];
  const entries = Array.isArray(o) ? o.map((v, i) => [i, v] as const) : Object.entries(o);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))].filter((p) => p.length > 0);
}

test('any one field replaced by a hostile value: parsed or refused with a PayloadError, never another exception', (t) => {
  const base = balanceReportJson(FULL);
  let refusals = 0;
  let tried = 0;
  for (const path of paths(base)) {
    for (const value of [...HOSTILE, undefined]) {
      tried++;
      try {
        const r = parseBalanceReport('db1', mutate(path, value, base));
        // Accepted: what it carries is of the declared types.
        t.true(r.capacity > 0 && r.weight >= 0 && r.weight <= 100 && Array.isArray(r.reasons) && r.reasons.every((x) => typeof x === 'string'));
      } catch (err) {
        if (!(err instanceof PayloadError)) t.fail(`${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}: ${String(err)}`);
        refusals++;
      }
    }
  }
  t.true(refusals > tried / 2, `${refusals} of ${tried} refused`);
});

const ANSWER: DrainAnswer = {
  host: 'db1',
  cluster: 'pg-main',
  request: '0123456789abcdef',
  state: 'granted',
  reason: "db1's data disk is failing: drain granted",
  decidedMs: NOW,
  leaseExpiresMs: NOW + 600_000,
  collector: 'harbinger-fleet-a',
};
const GRANT_TOPIC = 'harbinger/v1/db1/grant';
const answerJson = (a: DrainAnswer) => JSON.stringify(drainAnswerJson(a));

test('a granted answer with its lease passes the schema and round-trips', (t) => {
  t.is(grantTopic('harbinger/v1', 'db1'), GRANT_TOPIC);
  const text = answerJson(ANSWER);
  t.is(JSON.parse(text).lease_expires, '2025-03-01T12:10:00.000Z');
  t.deepEqual(schemaProblems(GRANT_TOPIC, text), []);
  t.deepEqual(parseDrainAnswer('db1', text), ANSWER);
});

test('a deferred answer with lease_expires null passes the schema and round-trips', (t) => {
  const deferred: DrainAnswer = { ...ANSWER, state: 'deferred', reason: "db1's data disk is failing, but db2 is already out of cluster pg-main" };
  delete deferred.leaseExpiresMs;
  const text = answerJson(deferred);
  t.is(JSON.parse(text).lease_expires, null);
  t.deepEqual(schemaProblems(GRANT_TOPIC, text), []);
  t.deepEqual(parseDrainAnswer('db1', text), deferred);
  // A lease on a deferral means nothing: the schema refuses it, the parser drops it.
  const leased = answerJson({ ...deferred, leaseExpiresMs: NOW });
  t.notDeepEqual(schemaProblems(GRANT_TOPIC, leased), []);
  t.false('leaseExpiresMs' in parseDrainAnswer('db1', leased));
  // A grant without its lease: refused by the schema.
  const bare = { ...ANSWER };
  delete bare.leaseExpiresMs;
  t.notDeepEqual(schemaProblems(GRANT_TOPIC, answerJson(bare)), []);
  // The empty retained message is valid: no answer.
  t.deepEqual(schemaProblems(GRANT_TOPIC, ''), []);
});

test('hostile answers are refused with a PayloadError', (t) => {
  const base = drainAnswerJson(ANSWER);
  const parse = (payload: string, host = 'db1') => () => parseDrainAnswer(host, payload);
  refused(t, parse(answerJson(ANSWER), 'db2'), /is not this host \(db2\)/);
  refused(t, parse(mutate(['host'], 'db2', base)), /is not this host/);
  refused(t, parse('garbage'), /not JSON/);
  refused(t, parse(''), /empty payload/);
  refused(t, parse('[]'), /not a JSON object/);
  refused(t, parse(mutate(['state'], 'maybe', base)), /state must be one of granted, deferred/);
  refused(t, parse(mutate(['request'], 'x'.repeat(65), base)), /request is longer than 64/);
  refused(t, parse(mutate(['request'], 7, base)), /request must be a non-empty string/);
  refused(t, parse(mutate(['decided'], 'soon', base)), /decided is not an RFC 3339 date-time/);
  refused(t, parse(mutate(['lease_expires'], 'later', base)), /lease_expires is not an RFC 3339 date-time/);
  refused(t, parse(mutate(['reason'], undefined, base)), /reason must be a non-empty string/);
  refused(t, parse(mutate(['collector'], '', base)), /collector must be a non-empty string/);
  refused(t, parse(mutate(['cluster'], undefined, base)), /cluster must be a non-empty string/);
  refused(t, parse(`{"host":"db1","reason":"${'a'.repeat(10 * 1024 * 1024)}"}`), /more than 65536/);
  for (const path of paths(base)) {
    for (const value of [...HOSTILE, undefined]) {
      try {
        parseDrainAnswer('db1', mutate(path, value, base));
      } catch (err) {
        if (!(err instanceof PayloadError)) t.fail(`${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}: ${String(err)}`);
      }
    }
  }
});
