import { hostname } from 'node:os';
import test from 'ava';
import { COLLECTORS } from '../../src/collectors/index.js';
import { loadConfig } from '../../src/config/load.js';
import { runHarbinger } from '../helpers/agent.js';
import { problems } from '../helpers/config.js';
import { writeTemp } from '../helpers/tmp.js';

const load = (flags: Record<string, unknown> = {}, env: Record<string, string> = {}) => loadConfig({ collectors: COLLECTORS, flags, env: { HARBINGER_CONFIG: '/dev/null', ...env } });


test('defaults: port 10191, SQLite in the state directory, a stable client id from the hostname', async (t) => {
  const config = await load();
  t.deepEqual(config.fleet, {
    listenAddress: { port: 10191 },
    webConfigFile: undefined,
    group: 'harbinger-fleet',
    clientId: `harbinger-fleet-${hostname()}`,
    sessionExpirySeconds: 7 * 86_400,
    historyDays: 365,
    store: { driver: 'sqlite', path: '/var/lib/harbinger/fleet.sqlite' },
    clusters: { maxDrained: 1, maxUtilization: 0.9, leaseMs: 300_000, overrides: new Map() },
  });
  const moved = await load({ 'state-dir': '/srv/harbinger', 'fleet.client-id': 'collector-a' });
  t.is(moved.fleet.store.driver === 'sqlite' && moved.fleet.store.path, '/srv/harbinger/fleet.sqlite');
  t.is(moved.fleet.clientId, 'collector-a');
});

test('postgres: the DSN from flags or env, the password from its file (first line only)', async (t) => {
  const file = await writeTemp(t, 'pw', 's3cret pass\nignored\n');
  const config = await load(
    { 'fleet.store.password-file': file },
    { HARBINGER_FLEET_STORE_DRIVER: 'postgres', HARBINGER_FLEET_STORE_DSN: 'postgres://fleet@db.example:5432/fleet?sslmode=require' },
  );
  t.deepEqual(config.fleet.store, { driver: 'postgres', dsn: 'postgres://fleet@db.example:5432/fleet?sslmode=require', password: 's3cret pass' });
});

test('every fleet problem is named, with where the value came from', async (t) => {
  const found = await problems(
    load({
      'fleet.store.driver': 'postgres',
      'fleet.store.path': '/x.sqlite',
      'fleet.store.dsn': 'mysql://u:inline-secret@h/db',
      'fleet.store.password-file': '/nonexistent/pw',
      'fleet.session-expiry': '30s',
      'fleet.listen-address': ':99999',
    }),
  );
  t.deepEqual(found, [
    'flag --fleet.listen-address: fleet.listen_address: port 99999 is out of range 0-65535',
    'flag --fleet.session-expiry: fleet.session_expiry: must be at least 1m, got "30s": a shorter session loses the events of a restart',
    'flag --fleet.store.path: fleet.store.path: is for driver sqlite; with postgres the state is in fleet.store.dsn',
    'flag --fleet.store.dsn: fleet.store.dsn: must start with postgres:// or postgresql://, got "mysql://"',
    'flag --fleet.store.dsn: fleet.store.dsn: must not contain the password: put it in fleet.store.password_file',
    'flag --fleet.store.password-file: fleet.store.password_file: cannot read /nonexistent/pw: ENOENT',
  ]);
  t.false(found.join('\n').includes('inline-secret'), 'a password put in a DSN is not repeated');
  t.deepEqual(await problems(load({ 'fleet.store.driver': 'postgres' })), [
    '/dev/null: fleet.store.dsn: is required with fleet.store.driver postgres (e.g. postgres://harbinger@db.example:5432/harbinger_fleet)',
  ]);
  t.deepEqual(await problems(load({ 'fleet.store.dsn': 'postgres://h/db' })), [
    'flag --fleet.store.dsn: fleet.store.dsn: is for driver postgres; set fleet.store.driver to postgres, or leave it empty',
  ]);
  t.regex((await problems(load({ 'fleet.group': 'a/b' })))[0]!, /fleet\.group: must be a name without \/, # or \+/);
});

test('fleet.store.dsn: a password as a query parameter or in a libpq key=value DSN is refused too', async (t) => {
  for (const dsn of ['postgres://fleet@db.example/fleet?password=q-secret', 'host=db.example user=fleet password=kv-secret']) {
    const found = await problems(load({ 'fleet.store.driver': 'postgres', 'fleet.store.dsn': dsn }));
    t.deepEqual(found, ['flag --fleet.store.dsn: fleet.store.dsn: must not contain the password: put it in fleet.store.password_file'], dsn);
  }
});

test('harbinger collector refuses to start without a broker, or with an unreadable web config: exit 78, nothing started', async (t) => {
  const collector = (...args: string[]) =>
    runHarbinger(t, ['collector', '--config', '/dev/null', ...args]).then((r) => (r.code === 0 ? undefined : r));
  const noBroker = await collector();
  t.is(noBroker?.code, 78);
  t.regex(noBroker!.stderr, /mqtt\.url: harbinger collector needs a broker: set mqtt\.url/);
  t.is(noBroker!.stdout, '');
  const badWeb = await collector('--mqtt.url', 'mqtt://127.0.0.1:1', '--fleet.web-config-file', '/nonexistent/web.yml');
  t.is(badWeb?.code, 78);
  t.regex(badWeb!.stderr, /\/nonexistent\/web\.yml/);
  // check-config --for collector catches the same before a service is started.
  const check = (...args: string[]) =>
    runHarbinger(t, ['check-config', '--config', '/dev/null', ...args]);
  t.is((await check()).code, 0, 'the agent needs no broker');
  const forCollector = await check('--for', 'collector');
  t.is(forCollector.code, 78);
  t.regex(forCollector.stderr, /mqtt\.url: harbinger collector needs a broker/);
  t.regex((await check('--for', 'collector', '--mqtt.url', 'mqtt://127.0.0.1:1')).stdout, /configuration is valid for the collector/);
});
