import test, { type ExecutionContext } from 'ava';
import { Registry } from 'prom-client';
import type { BalanceStatus } from '../../src/balance/service.js';
import { HttpService } from '../../src/http.js';
import { Exposition } from '../../src/metrics/exposition.js';
import { State } from '../../src/state.js';
import { captureLogger } from '../helpers/logger.js';

async function serve(t: ExecutionContext, state: State, balance: BalanceStatus) {
  const http = new HttpService(
    { listenAddress: { host: '127.0.0.1', port: 0 }, web: undefined },
    { exposition: new Exposition(new Registry()), state, logger: captureLogger().logger, version: 'test', startedAtMs: 0, balance: () => balance },
  );
  await http.start();
  t.teardown(() => http.stop());
  return `http://127.0.0.1:${http.port}`;
}

const DRAINED: BalanceStatus = { state: 'drain', weight: 0, reasons: ['operator drain by root: replacing the PSU'], sinceMs: 0, current: { state: 'up', weight: 100, reasons: [] }, decidedBy: 'operator' };

test('liveness is apart from the balance: a drained host answers /health 503 and /-/healthy 200', async (t) => {
  const url = await serve(t, new State(), DRAINED);
  t.is((await fetch(`${url}/health`)).status, 503);
  const healthy = await fetch(`${url}/-/healthy`);
  t.is(healthy.status, 200);
  t.is(await healthy.text(), 'harbinger is healthy.\n');
});

test('/-/ready waits for the first round of every enabled collector, and names the ones it waits for', async (t) => {
  const state = new State();
  state.status('smart').enabled = true;
  state.status('storage').enabled = true;
  state.status('host').enabled = false;
  const url = await serve(t, state, DRAINED);
  const waiting = await fetch(`${url}/-/ready`);
  t.is(waiting.status, 503);
  t.is(await waiting.text(), 'harbinger is not ready: waiting for the first round of smart, storage.\n');
  Object.assign(state.status('storage'), { success: false, lastAttemptMs: 1 });
  t.regex(await (await fetch(`${url}/-/ready`)).text(), /waiting for the first round of smart\.$/m, 'a failed first round counts as a round');
  Object.assign(state.status('smart'), { success: true, lastAttemptMs: 2 });
  t.is((await fetch(`${url}/-/ready`)).status, 200);
});
