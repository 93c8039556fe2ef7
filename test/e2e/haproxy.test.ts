import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { startAgent } from '../helpers/agent.js';
import { agentCheckArgs, agentCheckPort, FAST_REPLAY, startHaproxy } from '../helpers/haproxy.js';
import { repoPath, tempDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/tools.js';

const FIXTURE = repoPath('test/fixtures/host/modern');
const psi = (avg60: number) => `some avg10=${avg60.toFixed(2)} avg60=${avg60.toFixed(2)} avg300=${avg60.toFixed(2)} total=812345678\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=701234567\n`;


test('HAProxy follows the agents: pressure lowers one server weight, a failing disk drains the other, calm restores it', async (t) => {
  const proc = join(await tempDir(t), 'proc');
  await cp(join(FIXTURE, 'proc'), proc, { recursive: true });
  await writeFile(join(proc, 'pressure/io'), psi(2));
  const common = [...agentCheckArgs('2s'), '--no-collector.host'];
  const pressured = await startAgent(t, [
    ...common,
    '--path.procfs',
    proc,
    '--path.sysfs',
    join(FIXTURE, 'sys'),
    '--no-collector.smart',
    '--collector.pressure.interval',
    '1s',
    '--collector.pressure.timeout',
    '1s',
    '--state-dir',
    await tempDir(t),
  ]);
  const failing = await startAgent(t, [
    ...common,
    '--no-collector.pressure',
    // The replayed disks are not this host's: their roles stay unknown, so the failing one drains.
    '--no-collector.storage',
    ...FAST_REPLAY,
    '--state-dir',
    await tempDir(t),
  ]);
  const haproxy = await startHaproxy(t, [
    { name: 'pressured', agentPort: await agentCheckPort(pressured) },
    { name: 'failing', agentPort: await agentCheckPort(failing) },
  ]);
  const server = async (name: string) => (await haproxy.servers()).find((s) => s.name === name)!;

  await waitFor('both at full weight', async () => ((await server('pressured')).weight === 100 ? true : undefined));

  // 75% IO pressure against the default 30% limit: weight 40%.
  await writeFile(join(proc, 'pressure/io'), psi(75));
  const lowered = await waitFor('the pressured server weight to drop', async () => {
    const s = await server('pressured');
    return s.weight === 40 ? s : undefined;
  });
  t.is(lowered.adminState & 0x08, 0, 'pressure lowers the weight but does not drain');
  const health = await fetch(`${pressured.url}/health`);
  t.is(health.status, 200, 'a lighter weight is still up');
  t.like(((await health.json()) as { balance: object }).balance, { state: 'up', weight: 40, reasons: ['IO pressure 75% is above 30%'] });

  // The replayed disk turns failing in its third round: HAProxy drains that server.
  const drained = await waitFor('the failing server to be drained', async () => {
    const s = await server('failing');
    return s.adminState & 0x08 ? s : undefined;
  }, 20_000);
  t.truthy(drained);
  const failingHealth = await fetch(`${failing.url}/health`);
  t.is(failingHealth.status, 503);
  t.is(((await failingHealth.json()) as { balance: { state: string } }).balance.state, 'drain');
  t.true(failing.logs().some((l) => l.msg === 'load-balancer decision changed' && l.state === 'drain'));

  // Calm again: the weight comes back once the settle time (2 s here) has passed.
  await writeFile(join(proc, 'pressure/io'), psi(2));
  await waitFor('the pressured server back at full weight', async () => ((await server('pressured')).weight === 100 ? true : undefined), 15_000);
  t.is((await server('failing')).adminState & 0x08, 0x08, 'the failing disk keeps its host drained');
});
