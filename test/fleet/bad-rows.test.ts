import { join } from 'node:path';
import test from 'ava';
import { FleetHttp } from '../../src/fleet/http.js';
import type { FleetMetrics } from '../../src/fleet/metrics.js';
import { createStore } from '../../src/fleet/store.js';
import { diskRecord, statusRecord, T0 } from '../helpers/fleet-records.js';
import { captureLogger } from '../helpers/logger.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Rows stored before the collector checked dates as dates (a replace_by of 2026-02-31 or
 * 2026-13-01 passed the old shape check): each is shown without its bad date, and every feed
 * answers with the other rows.
 */
test('a stored disk row with an impossible replace_by breaks no feed', async (t) => {
  const { logger, lines } = captureLogger();
  const store = await createStore({ driver: 'sqlite', path: join(await tempDir(t), 'fleet.sqlite') }, logger);
  await store.open();
  t.teardown(() => store.close());
  await store.putStatus(statusRecord('db1', 'online'));
  await store.putDisk(diskRecord('db1', 'sdb', 'degraded', { replaceBy: '2026-02-31' }));
  await store.putDisk(diskRecord('db1', 'sdc', 'failing', { replaceBy: '2026-13-01' }));
  await store.putDisk(diskRecord('db1', 'sdd', 'degraded', { replaceBy: '2026-12-20', serial: 'GOOD-SERIAL' }));
  const http = new FleetHttp(
    { listenAddress: { host: '127.0.0.1', port: 0 }, web: undefined },
    {
      store,
      metrics: { contentType: 'text/plain', render: async () => '' } as unknown as FleetMetrics,
      logger,
      version: '0.0.0-test',
      now: () => T0,
      health: () => ({ status: 'ok' }),
      storeRead: () => {},
      clusters: async () => [],
    },
  );
  await http.start();
  t.teardown(() => http.stop());
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${http.port}${path}`);
    return { status: res.status, body: await res.text() };
  };

  for (const path of ['/maintenance.ics', '/maintenance.csv', '/api/maintenance', '/']) {
    const { status, body } = await get(path);
    t.is(status, 200, path);
    t.true(body.includes('GOOD-SERIAL'), `${path} has the good row`);
    t.true(body.includes('2026-12-20') || body.includes('20261220'), `${path} has the good row's date`);
    // The rows with a bad date are there, without it: the disks still need replacing.
    t.true(body.includes('SN-db1-sdb') && body.includes('SN-db1-sdc'), `${path} has the rows with a bad date`);
    t.false(/2026-02-31|2026-13-01|20260304/.test(body), `${path} shows no bad date, nor what Date.parse makes of it`);
  }
  const json = JSON.parse((await get('/api/maintenance')).body) as { disks: Array<{ disk: string; replace_by: string | null }> };
  t.deepEqual(
    json.disks.map((d) => [d.disk, d.replace_by]),
    [
      ['sdd', '2026-12-20'],
      ['sdc', null],
      ['sdb', null],
    ],
  );
  // Logged once per bad value, not at every request.
  const warnings = lines().filter((l) => String(l.msg).includes('not a real date'));
  t.is(warnings.length, 2);
  t.deepEqual(warnings.map((w) => w.disk).sort(), ['sdb', 'sdc']);
});
