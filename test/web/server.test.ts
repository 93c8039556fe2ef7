import test, { type ExecutionContext } from 'ava';
import bcrypt from 'bcryptjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { BasicAuth, parseBasicAuthorization } from '../../src/web/basic-auth.js';
import { createWebServer, parseSubjectAltNames, type RequestHandler } from '../../src/web/server.js';
import { loadWebConfig, type WebConfig } from '../../src/web/webconfig.js';
import { pki } from '../helpers/pki.js';

/** `htpasswd -nbBC 10 prom scrape-secret` (apache2-utils writes $2y$). */
const HTPASSWD_2Y = '$2y$10$jAiLvG/6ZKsW10Ry9o4js.A1DFMGMOt6AUpibQyJG.L4LAP/0dl2e';

async function webConfig(dir: string, yaml: string): Promise<WebConfig> {
  const file = join(dir, 'web-config.yml');
  await writeFile(file, yaml);
  return loadWebConfig(file);
}

/** Relative paths: resolved against the pki dir, where webConfig() writes the file. */
const tlsYaml = (clientAuth = 'NoClientCert', extra = '') =>
  `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: ${clientAuth}\n` +
  (clientAuth === 'NoClientCert' ? '' : '  client_ca_file: ca.crt\n') +
  extra;

const hello: RequestHandler = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('hello\n');
};

async function listen(t: ExecutionContext, web: WebConfig | undefined, handler = hello): Promise<number> {
  const server = createWebServer(web, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  cipher?: string;
}

/** One GET on a fresh connection (agent: false), over HTTPS when `tls` options are given. */
function get(port: number, options: { tls?: https.RequestOptions; auth?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = options.auth ? { authorization: `Basic ${Buffer.from(options.auth).toString('base64')}` } : {};
    const base = { host: '127.0.0.1', port, path: '/metrics', agent: false, headers };
    const req = options.tls ? https.request({ ...base, ...options.tls }) : http.request(base);
    req.on('error', reject);
    req.on('response', (res) => {
      const cipher = options.tls ? (res.socket as TLSSocket).getCipher().name : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(cipher ? { cipher } : {}) }));
    });
    req.end();
  });
}

test('plain HTTP without a web config, and with headers only', async (t) => {
  t.like(await get(await listen(t, undefined)), { status: 200, body: 'hello\n' });
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-server-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const web = await webConfig(dir, 'http_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    Content-Security-Policy: "default-src \'none\'"\n');
  const reply = await get(await listen(t, web));
  t.is(reply.status, 200);
  t.is(reply.headers['x-content-type-options'], 'nosniff');
  t.is(reply.headers['content-security-policy'], "default-src 'none'");
});

test('serves TLS that verifies against the CA; version and cipher settings apply', async (t) => {
  const { dir, pem } = await pki(t);
  const ca = await pem('ca.crt');
  const plain = await listen(t, await webConfig(dir, tlsYaml()));
  t.like(await get(plain, { tls: { ca } }), { status: 200, body: 'hello\n' });
  await t.throwsAsync(get(plain, { tls: {} }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'the client verifies the chain');
  await t.throwsAsync(get(plain), undefined, 'no plain HTTP on the TLS port');

  const tls12 = await webConfig(dir, tlsYaml('NoClientCert', '  max_version: TLS12\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n'));
  const port = await listen(t, tls12);
  t.like(await get(port, { tls: { ca } }), { status: 200, cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
  const tls13 = await listen(t, await webConfig(dir, tlsYaml('NoClientCert', '  min_version: TLS13\n')));
  await t.throwsAsync(get(tls13, { tls: { ca, maxVersion: 'TLSv1.2' } }));
});

test('RequireAndVerifyClientCert: no cert and an unverified cert fail, a CA-signed cert passes', async (t) => {
  const { dir, pem } = await pki(t);
  const ca = await pem('ca.crt');
  const port = await listen(t, await webConfig(dir, tlsYaml('RequireAndVerifyClientCert')));
  await t.throwsAsync(get(port, { tls: { ca } }));
  await t.throwsAsync(get(port, { tls: { ca, cert: await pem('rogue.crt'), key: await pem('rogue.key') } }));
  t.like(await get(port, { tls: { ca, cert: await pem('client.crt'), key: await pem('client.key') } }), { status: 200 });
});

test('RequireAnyClientCert: no cert is refused, any cert (even self-signed) is accepted', async (t) => {
  const { dir, pem } = await pki(t);
  const ca = await pem('ca.crt');
  const port = await listen(t, await webConfig(dir, tlsYaml('RequireAnyClientCert', 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n')));
  const refused = await get(port, { tls: { ca } });
  t.like(refused, { status: 403, body: 'Forbidden: a client certificate is required\n' });
  t.is(refused.headers['x-frame-options'], 'deny', 'configured headers are on refusals too');
  t.like(await get(port, { tls: { ca, cert: await pem('rogue.crt'), key: await pem('rogue.key') } }), { status: 200 });
  t.like(await get(port, { tls: { ca, cert: await pem('client.crt'), key: await pem('client.key') } }), { status: 200 });
});

test('VerifyClientCertIfGiven: no cert passes, a CA-signed cert passes, an unverified cert is refused', async (t) => {
  const { dir, pem } = await pki(t);
  const ca = await pem('ca.crt');
  const port = await listen(t, await webConfig(dir, tlsYaml('VerifyClientCertIfGiven')));
  t.like(await get(port, { tls: { ca } }), { status: 200 });
  t.like(await get(port, { tls: { ca, cert: await pem('client.crt'), key: await pem('client.key') } }), { status: 200 });
  const rogue = await get(port, { tls: { ca, cert: await pem('rogue.crt'), key: await pem('rogue.key') } });
  t.is(rogue.status, 403);
  t.regex(rogue.body, /does not verify/);
});

test('client_allowed_sans: the client cert needs one of the SANs (IPs compared as addresses)', async (t) => {
  const { dir, pem } = await pki(t);
  const ca = await pem('ca.crt');
  const client = { ca, cert: await pem('client.crt'), key: await pem('client.key') };
  for (const [sans, status] of [
    ['[scraper.example]', 200],
    ['["::1"]', 200],
    ['[other.example, "127.0.0.1", "Scraper.example"]', 403],
    ['[]', 403], // as in exporter-toolkit: an empty list allows no one
  ] as const) {
    const port = await listen(t, await webConfig(dir, tlsYaml('RequireAndVerifyClientCert', `  client_allowed_sans: ${sans}\n`)));
    t.is((await get(port, { tls: client })).status, status, sans);
  }
});

test('basic auth: right, wrong, unknown user, missing header, and an htpasswd $2y$ hash', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-server-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const hash = bcrypt.hashSync('s3cret:with:colons', 4);
  const port = await listen(t, await webConfig(dir, `basic_auth_users:\n  alice: ${hash}\n  prom: ${HTPASSWD_2Y}\n`));
  t.like(await get(port, { auth: 'alice:s3cret:with:colons' }), { status: 200, body: 'hello\n' });
  t.like(await get(port, { auth: 'prom:scrape-secret' }), { status: 200 });
  for (const auth of ['alice:wrong', 'mallory:s3cret:with:colons', 'prom:Scrape-secret', undefined]) {
    const reply = await get(port, auth === undefined ? {} : { auth });
    t.is(reply.status, 401, auth);
    t.is(reply.headers['www-authenticate'], 'Basic realm="harbinger"');
  }
});

test('BasicAuth caches successes, compares unknown users against a dummy of the same cost, evicts the oldest', async (t) => {
  const calls: string[] = [];
  const compare = async (password: string, hash: string) => {
    calls.push(hash);
    return bcrypt.compare(password, hash);
  };
  const users = new Map([
    ['a', bcrypt.hashSync('pa', 4)],
    ['b', bcrypt.hashSync('pb', 4)],
    ['c', bcrypt.hashSync('pc', 5)],
  ]);
  const auth = new BasicAuth(users, { compare, cacheSize: 2 });
  const basic = (creds: string) => `Basic ${Buffer.from(creds).toString('base64')}`;

  t.true(await auth.check(basic('a:pa')));
  t.true(await auth.check(basic('a:pa')));
  t.is(calls.length, 1, 'second check served from the cache');
  t.false(await auth.check(basic('a:wrong')));
  t.false(await auth.check(basic('a:wrong')));
  t.is(calls.length, 3, 'failures are not cached');

  calls.length = 0;
  t.false(await auth.check(basic('nobody:pa')));
  t.is(calls.length, 1);
  t.regex(calls[0] ?? '', /^\$2b\$05\$.{53}$/, 'dummy hash with the highest configured cost');

  calls.length = 0;
  t.true(await auth.check(basic('b:pb')));
  t.true(await auth.check(basic('c:pc'))); // cache: b, c — a evicted
  t.true(await auth.check(basic('b:pb')));
  t.true(await auth.check(basic('a:pa')));
  t.is(calls.length, 3, 'a was evicted and compared again; b was still cached');

  t.false(await auth.check(undefined));
  t.false(await auth.check('Bearer abc'));
  t.false(await new BasicAuth(new Map([['x', 'not-a-hash']])).check(basic('x:y')), 'malformed hash matches nothing');
});

test('parsers: Basic credentials and Node SAN strings with quoted values', (t) => {
  t.deepEqual(parseBasicAuthorization(`basic ${Buffer.from('u:p:q').toString('base64')}`), { user: 'u', password: 'p:q' });
  t.is(parseBasicAuthorization(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined);
  t.is(parseBasicAuthorization('Basic !!!'), undefined);
  t.deepEqual(parseSubjectAltNames('DNS:a.example, IP Address:0:0:0:0:0:0:0:1, URI:"x:y, DNS:evil.example"'), [
    { type: 'DNS', value: 'a.example' },
    { type: 'IP Address', value: '0:0:0:0:0:0:0:1' },
    { type: 'URI', value: 'x:y, DNS:evil.example' },
  ]);
  t.deepEqual(parseSubjectAltNames(undefined), []);
});
