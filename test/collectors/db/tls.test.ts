import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import anyTest, { type TestFn } from 'ava';
import { giveToServer, startAll } from '../../helpers/db-process.js';
import { startMariadb, type MariadbServer } from '../../helpers/mariadb.js';
import { startPostgres, type PostgresServer } from '../../helpers/postgres.js';
import { requireTool } from '../../helpers/tools.js';
import { testMonitor } from './monitor.js';

const run = promisify(execFile);
const test = anyTest as TestFn<{ pg: PostgresServer; maria: MariadbServer; certs: string }>;
const cleanup: Array<() => Promise<void>> = [];

/** A throwaway CA and a server certificate for localhost, db.test and 127.0.0.1, readable by the servers. */
async function certificates(): Promise<string> {
  const openssl = requireTool('openssl', 'openssl');
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-db-tls-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]) => run(openssl, args, { cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  await ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=harbinger db test CA');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,DNS:db.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=db.test');
  await ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.crt', '-extfile', 'server.ext');
  await chmod(join(dir, 'server.key'), 0o600); // PostgreSQL refuses a key others can read
  await giveToServer(dir, join(dir, 'server.key'), join(dir, 'server.crt'), join(dir, 'ca.crt'));
  return dir;
}

test.before(async (t) => {
  const certs = await certificates();
  const [pg, maria] = (await startAll<PostgresServer | MariadbServer>([
    startPostgres({ settings: { ssl: 'on', ssl_cert_file: join(certs, 'server.crt'), ssl_key_file: join(certs, 'server.key') } }),
    startMariadb({ args: [`--ssl-cert=${join(certs, 'server.crt')}`, `--ssl-key=${join(certs, 'server.key')}`, `--ssl-ca=${join(certs, 'ca.crt')}`] }),
  ])) as [PostgresServer, MariadbServer];
  cleanup.push(() => pg.destroy(), () => maria.destroy());
  await pg.query("CREATE ROLE harbinger LOGIN PASSWORD 'tls-agent-pw'");
  // REQUIRE SSL: this user can only log in over TLS, so "up" proves the connection was encrypted.
  await maria.query("CREATE USER harbinger@'%' IDENTIFIED BY 'tls-agent-pw' REQUIRE SSL");
  t.context = { pg, maria, certs };
});
test.after.always(async () => {
  for (const step of cleanup.reverse()) await step();
});

process.env.TEST_TLS_PASSWORD = 'tls-agent-pw';

test('PostgreSQL over TLS: verified against the CA; the server sees an encrypted connection', async (t) => {
  const { pg, certs } = t.context;
  const m = testMonitor({ driver: 'postgres', host: pg.host, port: pg.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: { enabled: true, ca: join(certs, 'ca.crt') } });
  t.teardown(m.stop);
  const r = await m.round();
  t.true(r.up, JSON.stringify(r.lastError));
  const [row] = await pg.query<{ ssl: boolean }>("SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'harbinger'");
  t.true(row?.ssl);
});

test('PostgreSQL over TLS: an unknown CA is refused (connect); insecure_skip_verify accepts it', async (t) => {
  const { pg } = t.context;
  const strict = testMonitor({ driver: 'postgres', host: pg.host, port: pg.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: { enabled: true } });
  const lax = testMonitor({ driver: 'postgres', host: pg.host, port: pg.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: { enabled: true, insecure_skip_verify: true } });
  t.teardown(async () => Promise.all([strict.stop(), lax.stop()]));
  const refused = await strict.round();
  t.is(refused.lastError?.reason, 'connect');
  t.regex(refused.lastError!.message, /certificate/i);
  t.true((await lax.round()).up);
});

test('PostgreSQL over TLS: server_name is what the certificate must name', async (t) => {
  const { pg, certs } = t.context;
  const tls = (server_name: string) => ({ enabled: true, ca: join(certs, 'ca.crt'), server_name });
  const right = testMonitor({ driver: 'postgres', host: pg.host, port: pg.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: tls('db.test') });
  const wrong = testMonitor({ driver: 'postgres', host: pg.host, port: pg.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: tls('other.example') });
  t.teardown(async () => Promise.all([right.stop(), wrong.stop()]));
  t.true((await right.round()).up);
  const r = await wrong.round();
  t.is(r.lastError?.reason, 'connect');
  t.regex(r.lastError!.message, /other\.example/);
});

test('MariaDB over TLS: verified against the CA and the host name; an unknown CA is refused', async (t) => {
  const { maria, certs } = t.context;
  const ok = testMonitor({ driver: 'mysql', host: 'localhost', port: maria.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: { enabled: true, ca: join(certs, 'ca.crt') } });
  const strict = testMonitor({ driver: 'mysql', host: maria.host, port: maria.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD', tls: { enabled: true } });
  const plain = testMonitor({ driver: 'mysql', host: maria.host, port: maria.port, user: 'harbinger', password_env: 'TEST_TLS_PASSWORD' });
  t.teardown(async () => Promise.all([ok.stop(), strict.stop(), plain.stop()]));
  const r = await ok.round();
  t.true(r.up, JSON.stringify(r.lastError));
  t.is((await strict.round()).lastError?.reason, 'connect');
  t.is((await plain.round()).lastError?.reason, 'auth', 'without TLS this user is refused: REQUIRE SSL');
});
