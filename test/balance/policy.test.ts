import test from 'ava';
import { agentCheckLine, decide } from '../../src/balance/policy.js';
import { BalanceService } from '../../src/balance/service.js';
import type { BalanceSettings } from '../../src/balance/settings.js';
import { State } from '../../src/state.js';
import { PREDICTIONS } from '../../src/state.js';
import { BALANCE_SETTINGS } from '../helpers/balance.js';

const SETTINGS: BalanceSettings = { ...BALANCE_SETTINGS, settleMs: 60_000 };

test('all well: up at full weight, no reasons', (t) => {
  t.deepEqual(decide({ pressure: { cpu: 10, memory: 0, io: 5 }, databases: [{ target: 'pg', latencySeconds: 0.002 }] }, SETTINGS), {
    state: 'up',
    weight: 100,
    reasons: [],
  });
});

test('pressure above a limit scales the weight by limit/value, the worst deciding, never below the minimum', (t) => {
  const io = decide({ pressure: { cpu: 60, io: 75 } }, SETTINGS);
  t.is(io.state, 'up');
  t.is(io.weight, 40, 'io 75% against 30%: 0.4 (worse than cpu 60% against 50%)');
  t.deepEqual(io.reasons, ['IO pressure 75% is above 30%', 'CPU pressure 60% is above 50%']);
  t.is(decide({ pressure: { memory: 100 } }, SETTINGS).weight, 20);
  t.is(decide({ pressure: { io: 99.9 } }, { ...SETTINGS, limits: { ...SETTINGS.limits, ioPressure: 1 } }).weight, 10, 'floored at min_weight');
  t.is(decide({ databases: [{ target: 'pg', latencySeconds: 1 }] }, SETTINGS).weight, 25);
});

test('a failing data disk drains; a database that does not answer takes the host down, whatever else', (t) => {
  const disks = [
    { disk: 'wwn-1', device: '/dev/sda', level: 'ok' as const, role: 'data' as const },
    { disk: 'wwn-2', device: '/dev/sdb', level: 'failing' as const, role: 'data' as const, roleReason: 'holds /srv/pg of pg' },
  ];
  t.deepEqual(decide({ disks }, SETTINGS), {
    state: 'drain',
    weight: 0,
    reasons: ['disk wwn-2 (/dev/sdb) is failing and holds database data (holds /srv/pg of pg): replace it'],
    // What the host publishes while the collector has not granted the drain, and why it drains.
    diskDrain: { disks: ['wwn-2'], verdict: 'prediction', level: 'failing', undrained: { state: 'up', weight: 100, reasons: [] } },
  });
  t.is(decide({ disks: [{ ...disks[1]!, verdict: 'drive' }] }, SETTINGS).diskDrain?.verdict, 'drive', "one disk with the drive's own verdict makes the drain the drive's");
  t.is(decide({ disks: [{ ...disks[1]!, level: 'degraded' }] }, SETTINGS).state, 'up', 'degraded does not drain by default');
  t.is(decide({ disks: [{ ...disks[1]!, level: 'degraded' }] }, { ...SETTINGS, drainLevel: 'degraded' }).state, 'drain');
  t.is(decide({ disks }, { ...SETTINGS, drainLevel: 'never' }).state, 'up', 'drain_level never: disks never drain');
  const down = decide({ disks, databases: [{ target: 'pg', down: true, reason: 'connect' }] }, SETTINGS);
  t.is(down.state, 'down');
  t.deepEqual(down.reasons, ['database pg does not answer (connect)', 'disk wwn-2 (/dev/sdb) is failing and holds database data (holds /srv/pg of pg): replace it']);
  t.is(decide({ databases: [{ target: 'pg', down: false, reason: 'auth' }] }, SETTINGS).state, 'up', 'a monitoring fault is not down');
});

test('only a data disk drains: system, redundant and unused disks at failing do not; unknown drains unless ignored', (t) => {
  const failing = (role: 'data' | 'redundant' | 'system' | 'unused' | 'unknown') => ({ disks: [{ disk: 'wwn-2', device: '/dev/sdb', level: 'failing' as const, role, roleReason: 'why' }] });
  t.is(decide(failing('system'), SETTINGS).state, 'up');
  t.is(decide(failing('redundant'), SETTINGS).state, 'up');
  t.is(decide(failing('unused'), SETTINGS).state, 'up');
  t.like(decide(failing('unknown'), SETTINGS), { state: 'drain', weight: 0, reasons: ['disk wwn-2 (/dev/sdb) is failing and what it holds is unknown (why): replace it'] });
  t.is(decide(failing('unknown'), { ...SETTINGS, unknownDiskRole: 'ignore' }).state, 'up');
});

test('agent-check lines follow HAProxy: state words, weight, # description', (t) => {
  t.is(agentCheckLine({ state: 'up', weight: 100, reasons: [] }), 'up ready 100%\n');
  t.is(agentCheckLine({ state: 'up', weight: 40, reasons: ['IO pressure 75% is above 30%'] }), 'up ready 40% #IO pressure 75% is above 30%\n');
  t.is(agentCheckLine({ state: 'drain', weight: 0, reasons: ['disk x is failing'] }), 'drain #disk x is failing\n');
  t.is(agentCheckLine({ state: 'down', weight: 0, reasons: ['a\nb#c'] }), 'down #a b c\n');
});

/** A state with host pressure only, io at `io` percent. */
function stateWith(io: number, extra?: (s: State) => void): State {
  const state = new State();
  state.setReading('pressure', { psi: { io: { some: { avg10: io, avg60: io, avg300: io, totalSeconds: 0 } } }, units: [], memory: new Map(), load: { load1: 0, load5: 0, load15: 0 } }, 0);
  extra?.(state);
  return state;
}

test('hysteresis: worse at once, better only after holding for the settle time', (t) => {
  let now = 0;
  const service = new BalanceService(SETTINGS, () => now);
  t.false(service.update(stateWith(5), new Map()));
  now = 1000;
  t.true(service.update(stateWith(60), new Map()));
  t.like(service.status(), { state: 'up', weight: 50, sinceMs: 1000 });
  // Back to calm, and flapping across the limit: the weight stays down for a whole settle time.
  for (const [at, io] of [[10_000, 5], [20_000, 45], [30_000, 5], [50_000, 5]] as const) {
    now = at;
    service.update(stateWith(io), new Map());
    t.is(service.status().weight, 50, `at ${at} ms`);
  }
  now = 80_000; // 60 s after the last reading at the limit (20 s, 45% → 66)
  service.update(stateWith(5), new Map());
  t.is(service.status().weight, 100);
  t.is(service.status().current.weight, 100);
});

test('the service reads predictions and database probes from the state; one slow probe does not cut the weight', (t) => {
  let now = 0;
  const service = new BalanceService(SETTINGS, () => now);
  const db = (probeMs: number, latency: number, up = true) => ({
    targets: [
      {
        name: 'pg',
        driver: 'postgres',
        up,
        lastProbeMs: probeMs,
        lastLatencySeconds: latency,
        unansweredProbes: up ? 0 : 3,
        balance: 'down',
        errorsTotal: {},
        histogram: { counts: [], sum: 0 },
      },
    ],
  });
  const state = stateWith(5);
  state.setReading('db', db(1, 0.002), 0);
  service.update(state, new Map());
  state.setReading('db', db(2, 2.0), 0); // one slow probe
  service.update(state, new Map());
  t.is(service.status().weight, 100, 'median of the last probes');
  state.setReading('db', db(3, 1.0), 0);
  service.update(state, new Map());
  t.is(service.status().weight, 25, 'two slow probes out of three: the median is 1 s');
  state.setReading(PREDICTIONS, { disks: [{ disk: 'wwn-9', device: '/dev/sdc', level: 'failing' }], historyWriteErrors: 0 }, 0);
  service.update(state, new Map());
  t.is(service.status().state, 'drain');
  state.setReading('db', db(4, 0, false), 0);
  now = 5;
  service.update(state, new Map());
  t.like(service.status(), { state: 'down', sinceMs: 5 });
});
