import test from 'ava';
import { failoverHeadroom, projectLoss, type PoolMember } from '../../../src/fleet/clusters/headroom.js';

const close = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-9;
const member = (host: string, cpu: number | undefined, capacity = 1, connections?: { used: number; max: number }): PoolMember => ({
  host,
  capacity,
  cpu,
  ...(connections ? { connections } : {}),
});

test('homogeneous members: the lost one\'s load spreads evenly over the others', (t) => {
  const pool = [member('a', 0.6), member('b', 0.6), member('c', 0.6)];
  for (const lost of ['a', 'b', 'c']) {
    const p = projectLoss(pool, lost);
    t.is(p.lost, lost);
    t.deepEqual(
      p.members.map((m) => m.host),
      ['a', 'b', 'c'].filter((h) => h !== lost),
    );
    // W = 2 (two members of capacity 1 left); each gains 0.6·1/2 = 0.3: 0.6 + 0.3 = 0.9.
    for (const m of p.members) {
      t.true(close(m.cpu, 0.9), `${m.host} cpu ${m.cpu}`);
      t.true(close(m.ratio, 0.9), `${m.host} ratio ${m.ratio}`);
      t.false('connections' in m, 'no connections read: none projected');
    }
    t.true(close(p.ratio, 0.9));
    t.deepEqual(p.unknown, []);
  }
  const h = failoverHeadroom(pool);
  t.true(close(h.ratio, 0.9), `figure ${h.ratio}`);
  t.is(h.worst?.lost, 'a', 'equal losses: the first one tried is kept');
});

test('weighted members: the worst loss is the large member, not the busiest one', (t) => {
  const pool = [member('a', 0.3, 2), member('b', 0.7, 1), member('c', 0.7, 1)];
  // Losing a (capacity 2): W = 1 + 1 = 2; moved = 0.3·2/2 = 0.3; b and c: 0.7 + 0.3 = 1.0.
  const lostA = projectLoss(pool, 'a');
  t.true(close(lostA.ratio, 1.0), `lost a: ${lostA.ratio}`);
  t.true(close(lostA.members.find((m) => m.host === 'b')!.cpu, 1.0));
  t.true(close(lostA.members.find((m) => m.host === 'c')!.cpu, 1.0));
  // Losing b (capacity 1, the busiest): W = 2 + 1 = 3; moved = 0.7·1/3 ≈ 0.2333 per capacity unit
  // (this model adds u_k·w_k/W to each member's utilisation): a: 0.3 + 0.7/3 ≈ 0.5333; c: 0.7 + 0.7/3 ≈ 0.9333.
  const lostB = projectLoss(pool, 'b');
  t.true(close(lostB.members.find((m) => m.host === 'a')!.cpu, 0.3 + 0.7 / 3));
  t.true(close(lostB.members.find((m) => m.host === 'c')!.cpu, 0.7 + 0.7 / 3));
  t.true(close(lostB.ratio, 0.7 + 0.7 / 3), `lost b: ${lostB.ratio}`);
  // Losing c is the mirror of losing b: 0.9333.
  t.true(close(projectLoss(pool, 'c').ratio, 0.7 + 0.7 / 3));
  const h = failoverHeadroom(pool);
  t.true(close(h.ratio, 1.0), `figure ${h.ratio}`);
  t.is(h.worst?.lost, 'a', 'the figure is the loss of a (capacity 2), though b and c are busier');
  t.true(h.ratio! > lostB.ratio!);
});

test('connections near max_connections: the ratio is the connection share', (t) => {
  // Two members, 80 of 100 connections each, CPU low. Losing one: 80 + 80·1/1 = 160 of 100 = 1.6.
  const pool = [member('a', 0.2, 1, { used: 80, max: 100 }), member('b', 0.2, 1, { used: 80, max: 100 })];
  const p = projectLoss(pool, 'a');
  t.is(p.members.length, 1);
  t.is(p.members[0]!.host, 'b');
  t.true(close(p.members[0]!.cpu, 0.4), '0.2 + 0.2·1/1');
  t.true(close(p.members[0]!.connections, 1.6));
  t.true(close(p.members[0]!.ratio, 1.6), 'the larger of CPU 0.4 and connections 1.6');
  t.true(close(failoverHeadroom(pool).ratio, 1.6));
});

test('connections spread by capacity; a member without a connection reading gets none projected', (t) => {
  // Losing a (50 connections): W = 3 (b 1, c 2); b gains 50·1/3, c gains 50·2/3.
  const pool = [member('a', 0.1, 1, { used: 50, max: 100 }), member('b', 0.1, 1, { used: 10, max: 100 }), member('c', 0.1, 2)];
  const p = projectLoss(pool, 'a');
  const b = p.members.find((m) => m.host === 'b')!;
  const c = p.members.find((m) => m.host === 'c')!;
  t.true(close(b.connections, (10 + 50 / 3) / 100));
  t.false('connections' in c);
  // CPU: each gains 0.1·1/3.
  t.true(close(b.cpu, 0.1 + 0.1 / 3));
  t.true(close(c.cpu, 0.1 + 0.1 / 3));
  t.true(close(b.ratio, Math.max(0.1 + 0.1 / 3, (10 + 50 / 3) / 100)));
  // max_connections 0 (not read as a limit): no share, CPU only.
  const zero = projectLoss([member('a', 0.5, 1, { used: 5, max: 0 }), member('b', 0.5, 1, { used: 5, max: 0 })], 'a');
  t.false('connections' in zero.members[0]!);
  t.is(zero.members[0]!.ratio, 1);
});

test('an unknown CPU makes the ratio undefined and is listed, the lost member\'s as well as a remaining one\'s', (t) => {
  const pool = [member('a', 0.5), member('b', undefined), member('c', 0.5)];
  const remaining = projectLoss(pool, 'a');
  t.is(remaining.ratio, undefined);
  t.deepEqual(remaining.unknown, ['b']);
  t.is(remaining.members.find((m) => m.host === 'b')!.ratio, undefined);
  t.is(remaining.members.find((m) => m.host === 'c')!.cpu, 0.5 + 0.5 / 2);

  // The lost member's own CPU unknown: what it moves is unknown, so every remaining cpu is.
  const lost = projectLoss(pool, 'b');
  t.is(lost.ratio, undefined);
  t.deepEqual(lost.unknown, ['b']);
  t.true(lost.members.every((m) => m.cpu === undefined && m.ratio === undefined));

  const h = failoverHeadroom(pool);
  t.is(h.ratio, undefined);
  t.deepEqual(h.worst?.unknown, ['b']);

  const two = failoverHeadroom([member('a', undefined), member('b', undefined), member('c', 0.1)]);
  t.is(two.ratio, undefined);
  t.deepEqual([...(two.worst?.unknown ?? [])].sort(), ['a', 'b']);
});

test('one member: Infinity (none would be left); an empty pool: undefined', (t) => {
  const one = failoverHeadroom([member('a', 0.1)]);
  t.is(one.ratio, Infinity);
  t.is(one.worst?.lost, 'a');
  t.deepEqual(one.worst?.members, []);
  t.is(projectLoss([member('a', undefined)], 'a').ratio, Infinity, 'nobody left: Infinity even with the CPU unknown');
  const empty = failoverHeadroom([]);
  t.is(empty.ratio, undefined);
  t.is(empty.worst, undefined);
});

test('exact values where the floats are exact', (t) => {
  // 0.5 + 0.5·1/1 = 1 and 0.25 + 0.25·2/2 = 0.5: exact in binary.
  t.is(projectLoss([member('a', 0.5), member('b', 0.5)], 'a').ratio, 1);
  t.is(failoverHeadroom([member('a', 0.25, 2), member('b', 0.25, 2)]).ratio, 0.5);
  // Losing a host not in the pool moves nothing.
  const p = projectLoss([member('a', 0.25), member('b', 0.5)], 'zz');
  t.is(p.ratio, 0.5);
  t.deepEqual(p.members.map((m) => m.cpu), [0.25, 0.5]);
});
