import { spawn } from 'node:child_process';
import test from 'ava';
import { Outbox } from '../../src/mqtt/outbox.js';
import { repoPath, tempDir } from '../helpers/tmp.js';

const event = (n: number) => ({ id: `id-${n}`, topic: `harbinger/v1/db1/events/level_changed`, subject: `d${n % 3}`, payload: `{"n":${n}}` });

test('events and disk tracks survive a reopen; acknowledged events are gone; the boot number counts starts', async (t) => {
  const dir = await tempDir(t);
  const first = Outbox.open(dir, 1000);
  t.is(first.nextBoot(), 1);
  first.add([event(1), event(2), event(3)], [{ disk: 'd1', device: '/dev/sda', published: 'degraded', episode: { startMs: 5, step: 1 } }]);
  const [a] = first.after(0, 1);
  first.acknowledge([a!.seq]);
  first.setRetained('harbinger/v1/db1/disks/d1', '{"level":"degraded"}');
  first.setRetained('harbinger/v1/db1/disks/d2', '');
  first.close();

  const second = Outbox.open(dir, 1000);
  t.is(second.nextBoot(), 2);
  t.deepEqual(
    second.after(0, 10).map((e) => e.id),
    ['id-2', 'id-3'],
  );
  t.deepEqual(second.tracks().get('d1'), { disk: 'd1', device: '/dev/sda', published: 'degraded', episode: { startMs: 5, step: 1 } });
  t.deepEqual(second.retained(), [
    { topic: 'harbinger/v1/db1/disks/d1', payload: '{"level":"degraded"}' },
    { topic: 'harbinger/v1/db1/disks/d2', payload: '' },
  ]);
  second.clearedRetained('harbinger/v1/db1/disks/d2');
  t.is(second.retained().length, 1);
  second.close();
});

test('past the bound the oldest events make room, in the same transaction', (t) => {
  const outbox = new Outbox(':memory:', 5);
  t.is(outbox.add([1, 2, 3, 4].map(event)).dropped, 0);
  t.is(outbox.add([5, 6, 7].map(event)).dropped, 2);
  t.deepEqual(
    outbox.after(0, 10).map((e) => e.id),
    ['id-3', 'id-4', 'id-5', 'id-6', 'id-7'],
  );
  t.is(outbox.depth(), 5);
  outbox.close();
});

test('a full disk: the round is refused whole, logged, nothing already queued is lost, and it is decided again once there is room', async (t) => {
  const dir = await tempDir(t);
  // A real full file system: a 256 KiB tmpfs in a private mount namespace holding the state
  // directory, mostly taken by a filler file that is removed to make room again.
  const script = `
    import { writeFileSync, unlinkSync } from 'node:fs';
    import { Writable } from 'node:stream';
    import { pino } from 'pino';
    import { MqttService } from ${JSON.stringify(repoPath('dist/src/mqtt/service.js'))};
    const dir = process.argv[1];
    writeFileSync(dir + '/filler', Buffer.alloc(64 * 1024));
    const lines = [];
    const logger = pino({ level: 'info' }, new Writable({ write(c, _e, done) { lines.push(JSON.parse(c)); done(); } }));
    const settings = { url: 'mqtt://127.0.0.1:1', topicRoot: 'harbinger/v1', host: 'db1', clientId: 'x', protocol: 'auto', keepaliveSeconds: 30,
      connectTimeoutMs: 1000, reconnectMaxBackoffMs: 1000, tls: {}, outboxMaxEvents: 100000, settleMs: 0 };
    const service = new MqttService(settings, { logger, version: 't', stateDir: dir + '/state', startedAtMs: 0, now: Date.now });
    service.start(); // its broker (port 1) never answers: events stay in the outbox
    const note = 'x'.repeat(400);
    const round = (r) => ({ historyWriteErrors: 0, disks: Array.from({ length: 5 }, (_, i) => ({ disk: 'd' + i, device: '/dev/d' + i, protocol: 'ata',
      level: r % 2 ? 'ok' : 'failing', probability: 0.5, horizonDays: 30, evidence: [{ signal: 's', value: 1, note }], readingAtMs: 1e12 + r * 3600000 })) });
    let r = 0, failedAt = -1, depthAtFailure = 0;
    for (; r < 200; r++) {
      const before = service.status().outboxDepth;
      service.onPredictions(round(r));
      if (service.status().outboxDepth === before) { failedAt = r; depthAtFailure = before; break; }
    }
    unlinkSync(dir + '/filler');
    service.onPredictions(round(failedAt));
    const afterRoom = service.status().outboxDepth;
    console.log(JSON.stringify({ failedAt, depthAtFailure, afterRoom, errors: lines.filter((l) => l.level >= 50 && !/broker/.test(l.msg)).map((l) => l.msg), volatile: service.status().outboxVolatile, warn: lines.filter((l) => l.level === 40).map((l) => l.msg + (l.err ? l.err.message : '')) }));
    process.exit(0);`;
  const child = spawn('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=256k tmpfs "$1" && exec "$2" --input-type=module -e "$3" "$1"', 'sh', dir, process.execPath, script], { cwd: repoPath() });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  t.is(code, 0, `unshare/mount failed (needs root or user namespaces): ${err}`);
  const result = JSON.parse(out) as { failedAt: number; depthAtFailure: number; afterRoom: number; errors: string[] };
  t.true(result.failedAt > 0, `some rounds were committed before the disk filled: ${out}`);
  t.is(result.depthAtFailure, result.failedAt * 5, 'every event committed before is still queued');
  t.is(result.afterRoom, result.depthAtFailure + 5, 'the refused round is decided again, once');
  t.true(result.errors.some((m) => /cannot write MQTT events to the outbox \(is the state directory full\?\)/.test(m)), JSON.stringify(result.errors));
});
