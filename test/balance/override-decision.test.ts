import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { Balancer } from '../../src/balance/balancer.js';
import { agentCheckLine } from '../../src/balance/policy.js';
import { BalanceService } from '../../src/balance/service.js';
import type { BalanceSettings } from '../../src/balance/settings.js';
import type { Override } from '../../src/balance/override.js';
import { PREDICTIONS, State } from '../../src/state.js';
import { BALANCE_SETTINGS } from '../helpers/balance.js';
import { captureLogger } from '../helpers/logger.js';
import { tempDir } from '../helpers/tmp.js';

const SETTINGS: BalanceSettings = { ...BALANCE_SETTINGS, settleMs: 120_000 };
const HOLD: Override = { mode: 'hold', reason: 'known false alarm on this firmware', by: 'root', setAtMs: 0, untilMs: 3_600_000 };
const DRAIN: Override = { mode: 'drain', reason: 'replacing the PSU', by: 'harbinger', setAtMs: 0 };
const DATA = new Map([['wwn-2', { role: 'data' as const, targets: ['pg'], paths: ['/srv/pg'], reason: 'holds /srv/pg of pg' }]]);

function failingDisk(): State {
  const state = new State();
  state.setReading(PREDICTIONS, { disks: [{ disk: 'wwn-2', device: '/dev/sdb', level: 'failing' }], historyWriteErrors: 0 }, 0);
  return state;
}

function downDatabase(state: State): State {
  const target = { name: 'pg', driver: 'postgres', up: false, unansweredProbes: 3, balance: 'down', errorsTotal: {}, histogram: { counts: [], sum: 0 } };
  state.setReading('db', { targets: [{ ...target, lastError: { reason: 'connect', message: 'connect ECONNREFUSED', atMs: 0, fault: 'unanswered' } }] }, 0);
  return state;
}

test('hold keeps a failing data disk\'s host up at full weight; the hidden reason stays visible; resume drains at once', (t) => {
  let now = 1000;
  const service = new BalanceService(SETTINGS, () => now);
  const state = failingDisk();
  service.update(state, DATA);
  t.is(service.status().state, 'drain');
  now = 2000;
  service.setOverride(HOLD);
  t.true(service.update(state, DATA));
  const held = service.status();
  t.like(held, { state: 'up', weight: 100, decidedBy: 'operator', sinceMs: 2000, override: HOLD });
  t.is(held.reasons[0], 'operator hold by root until 1970-01-01T01:00:00.000Z: known false alarm on this firmware');
  t.regex(held.reasons[1]!, /^overridden: disk wwn-2 \(\/dev\/sdb\) is failing and holds database data/);
  t.is(held.current.state, 'drain', "harbinger's own decision is still there");
  t.is(agentCheckLine(held), 'up ready 100% #operator hold by root until 1970-01-01T01:00:00.000Z: known false alarm on this firmware\n');
  now = 3000;
  service.setOverride(undefined);
  t.true(service.update(state, DATA));
  t.like(service.status(), { state: 'drain', decidedBy: 'harbinger', sinceMs: 3000 });
  t.is(service.status().override, undefined);
});

test('drain takes a healthy host out at once and resume brings it back at once, without waiting for the settle time', (t) => {
  let now = 0;
  const service = new BalanceService(SETTINGS, () => now);
  const state = new State();
  service.update(state, new Map());
  service.setOverride(DRAIN);
  t.true(service.update(state, new Map()));
  t.like(service.status(), { state: 'drain', weight: 0, decidedBy: 'operator', reasons: ['operator drain by harbinger: replacing the PSU'] });
  now = 1000;
  service.setOverride(undefined);
  t.true(service.update(state, new Map()));
  t.like(service.status(), { state: 'up', weight: 100, decidedBy: 'harbinger' });
});

test('a database that does not answer takes the host down through a hold or a drain, and says the override does not apply', (t) => {
  for (const override of [HOLD, DRAIN]) {
    const service = new BalanceService(SETTINGS, () => 0);
    service.setOverride(override);
    service.update(downDatabase(failingDisk()), DATA);
    const status = service.status();
    t.like(status, { state: 'down', weight: 0, decidedBy: 'harbinger' });
    t.regex(status.reasons[0]!, /^database pg does not answer/);
    t.regex(status.reasons.at(-1)!, new RegExp(`^the operator's ${override.mode} .* does not keep a database that does not answer in the pool$`));
  }
});

test('a new override with the same state is still a change (a new reason is announced)', (t) => {
  const service = new BalanceService(SETTINGS, () => 0);
  const state = new State();
  service.setOverride(HOLD);
  t.true(service.update(state, new Map()), 'hold on an up host: same state, new override');
  t.false(service.update(state, new Map()));
  service.setOverride({ ...HOLD, reason: 'another reason' });
  t.true(service.update(state, new Map()));
});

test('a damaged override file is ignored: harbinger decides, the problem is logged once and shown in the status', async (t) => {
  const stateDir = await tempDir(t);
  await writeFile(join(stateDir, 'balance-override.json'), '{"version":1,"mode":"dra');
  const { logger, lines } = captureLogger();
  const changes: string[] = [];
  const balancer = new Balancer(SETTINGS, { logger, state: failingDisk(), stateDir, onChange: (s, _p, cause) => changes.push(`${s.state} ${cause}`) });
  await balancer.start();
  t.teardown(() => balancer.stop());
  balancer.updateRoles('smart');
  balancer.onReading();
  const status = balancer.status();
  t.like(status, { decidedBy: 'harbinger', override: undefined });
  t.regex(status.overrideProblem ?? '', /balance-override\.json/);
  t.is(lines().filter((l) => String(l.msg).startsWith('the operator override file is not valid')).length, 1);
});
