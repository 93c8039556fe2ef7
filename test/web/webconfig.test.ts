import test, { type ExecutionContext } from 'ava';
import bcrypt from 'bcryptjs';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, type ConfigProblem } from '../../src/config/problems.js';
import { loadWebConfig } from '../../src/web/webconfig.js';

const run = promisify(execFile);
/** `htpasswd -nbBC 10 prom scrape-secret` (apache2-utils writes $2y$). */
const HTPASSWD_2Y = '$2y$10$jAiLvG/6ZKsW10Ry9o4js.A1DFMGMOt6AUpibQyJG.L4LAP/0dl2e';

/** A temp dir holding a self-signed cert and key in certs/, plus an unrelated key; removed after the test. */
async function fixture(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-webconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'certs'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', 'certs/server.key', '-out', 'certs/server.crt', '-subj', '/CN=localhost', '-days', '2'], { cwd: dir });
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'certs/other.key'], { cwd: dir });
  return dir;
}

async function write(dir: string, yaml: string): Promise<string> {
  const file = join(dir, 'web-config.yml');
  await writeFile(file, yaml);
  return file;
}

async function problemsOf(t: ExecutionContext, file: string): Promise<ConfigProblem[]> {
  const err = await t.throwsAsync(loadWebConfig(file), { instanceOf: ConfigError });
  return err?.problems ?? [];
}

function find(t: ExecutionContext, problems: ConfigProblem[], key: string): ConfigProblem {
  const found = problems.find((p) => p.key === key);
  if (!found) t.fail(`no problem for ${key} in ${JSON.stringify(problems)}`);
  return found ?? { key, message: '' };
}

test('an empty file means plain HTTP, no users, no headers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-webconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const web = await loadWebConfig(await write(dir, '# nothing\n'));
  t.is(web.tls, undefined);
  t.is(web.basicAuthUsers.size, 0);
  t.deepEqual(web.headers, {});
  t.true(Object.isFrozen(web));
});

test('loads a full config; paths are relative to the file, not the working directory', async (t) => {
  const dir = await fixture(t);
  const hash = bcrypt.hashSync('pw', 4);
  const file = await write(
    dir,
    `tls_server_config:
  cert_file: certs/server.crt
  key_file: certs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: certs/server.crt
  min_version: TLS12
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]
  curve_preferences: [X25519, CurveP256]
  prefer_server_cipher_suites: false
  client_allowed_sans: [scraper.example]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: ${hash}
  prom: ${HTPASSWD_2Y}
`,
  );
  t.not(process.cwd(), dir);
  const web = await loadWebConfig(file);
  const tls = web.tls;
  if (!tls) return t.fail('tls expected');
  t.deepEqual(tls.cert, await readFile(join(dir, 'certs/server.crt')));
  t.deepEqual(tls.key, await readFile(join(dir, 'certs/server.key')));
  t.deepEqual(tls.ca, await readFile(join(dir, 'certs/server.crt')));
  t.like(tls, {
    mode: 'RequireAndVerifyClientCert',
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305',
    ecdhCurve: 'X25519:prime256v1',
    honorCipherOrder: false,
  });
  t.deepEqual(tls.allowedSans, ['scraper.example']);
  t.deepEqual([...web.basicAuthUsers], [['alice', hash], ['prom', HTPASSWD_2Y]]);
  t.deepEqual(web.headers, { 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
  t.true(Object.isFrozen(tls));
});

test('inline PEM, the RequireClientCert alias and exporter-toolkit defaults', async (t) => {
  const dir = await fixture(t);
  const cert = await readFile(join(dir, 'certs/server.crt'), 'utf8');
  const key = await readFile(join(dir, 'certs/server.key'), 'utf8');
  const indent = (pem: string) => pem.trim().split('\n').map((l) => `    ${l}`).join('\n');
  const file = await write(dir, `tls_server_config:\n  cert: |\n${indent(cert)}\n  key: |\n${indent(key)}\n  client_auth_type: RequireClientCert\n`);
  const tls = (await loadWebConfig(file)).tls;
  t.is(tls?.cert.toString().trim(), cert.trim());
  t.like(tls, { mode: 'RequireAnyClientCert', requestCert: true, rejectUnauthorized: false });
  t.like(tls, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', honorCipherOrder: true });
  t.is(tls?.ciphers, undefined);
});

test('TLS settings without a cert, key, CA or client auth leave TLS off, as in exporter-toolkit', async (t) => {
  const dir = await fixture(t);
  const web = await loadWebConfig(await write(dir, 'tls_server_config:\n  min_version: TLS13\nhttp_server_config:\nbasic_auth_users: {}\n'));
  t.is(web.tls, undefined);
});

test('an unknown key is reported with its line and a suggestion', async (t) => {
  const dir = await fixture(t);
  const file = await write(dir, 'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n  client_authtype: RequireAnyClientCert\n');
  const problems = await problemsOf(t, file);
  t.is(problems.length, 1);
  const p = find(t, problems, 'tls_server_config.client_authtype');
  t.like(p, { source: file, line: 4, column: 3 });
  t.regex(p.message, /unknown key "client_authtype"; did you mean "client_auth_type"\?/);
});

test('bad enums: TLS version, curve, client_auth_type, header value and name', async (t) => {
  const dir = await fixture(t);
  const file = await write(
    dir,
    `tls_server_config:
  cert_file: certs/server.crt
  key_file: certs/server.key
  min_version: TLS14
  curve_preferences: [CurveP256, P-256]
  client_auth_type: RequireAndVerifyClientCerts
  client_ca_file: certs/server.crt
  client_allowed_sans: [x]
http_server_config:
  headers:
    X-Frame-Options: allow
    Authorization: Basic Zm9v
`,
  );
  const problems = await problemsOf(t, file);
  t.regex(find(t, problems, 'tls_server_config.min_version').message, /must be one of: "TLS10", "TLS11", "TLS12", "TLS13", got "TLS14"/);
  t.like(find(t, problems, 'tls_server_config.curve_preferences[1]'), { line: 5 });
  const auth = find(t, problems, 'tls_server_config.client_auth_type');
  t.regex(auth.message, /did you mean "RequireAndVerifyClientCert"/);
  t.is(auth.line, 6);
  t.regex(find(t, problems, 'http_server_config.headers.X-Frame-Options').message, /"deny", "sameorigin"/);
  t.regex(find(t, problems, 'http_server_config.headers.Authorization').message, /unknown key "Authorization"/);
  t.is(problems.length, 5, 'an unknown client_auth_type adds no echo about the CA or the SANs');
});

test('a missing cert file names the resolved path and the OS error', async (t) => {
  const dir = await fixture(t);
  const file = await write(dir, 'tls_server_config:\n  cert_file: certs/nope.crt\n  key_file: certs/server.key\n');
  const [p, ...rest] = await problemsOf(t, file);
  t.is(rest.length, 0);
  t.like(p, { key: 'tls_server_config.cert_file', source: file, line: 2 });
  t.is(p?.message, `cannot read ${join(dir, 'certs/nope.crt')} (ENOENT)`);
});

test('bad bcrypt hashes and user names are reported per user, without echoing the hash', async (t) => {
  const dir = await fixture(t);
  const file = await write(dir, `basic_auth_users:\n  alice: hunter2\n  bob: $2y$03$abc\n  ok: ${HTPASSWD_2Y}\n  "a:b": ${HTPASSWD_2Y}\n  nobody:\n`);
  const problems = await problemsOf(t, file);
  t.like(find(t, problems, 'basic_auth_users.alice'), { line: 2 });
  t.notRegex(find(t, problems, 'basic_auth_users.alice').message, /hunter2/);
  t.regex(find(t, problems, 'basic_auth_users.bob').message, /must be a bcrypt hash/);
  t.regex(find(t, problems, 'basic_auth_users.a:b').message, /cannot contain ":"/);
  t.regex(find(t, problems, 'basic_auth_users.nobody').message, /must be a string/);
  t.is(problems.length, 4);
});

test('an unknown cipher suite is reported at its list item, with a suggestion', async (t) => {
  const dir = await fixture(t);
  const file = await write(
    dir,
    'tls_server_config:\n  cert_file: certs/server.crt\n  key_file: certs/server.key\n  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265\n',
  );
  const [p, ...rest] = await problemsOf(t, file);
  t.is(rest.length, 0);
  t.like(p, { key: 'tls_server_config.cipher_suites[1]', line: 6, column: 7 });
  t.regex(p?.message ?? '', /unknown cipher suite "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"; did you mean "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"/);
});

test('semantic TLS rules: pairs, conflicts, CA without client auth, SANs without a required cert, versions', async (t) => {
  const dir = await fixture(t);
  const file = await write(
    dir,
    `tls_server_config:
  cert_file: certs/server.crt
  cert: inline
  key_file: certs/other.key
  client_ca_file: certs/server.key
  client_allowed_sans: [x]
  min_version: TLS13
  max_version: TLS12
`,
  );
  const problems = await problemsOf(t, file);
  t.regex(find(t, problems, 'tls_server_config.cert_file').message, /set only one of cert_file and cert/);
  t.regex(find(t, problems, 'tls_server_config.key_file').message, /does not match the certificate/);
  const ca = problems.filter((p) => p.key === 'tls_server_config.client_ca_file').map((p) => p.message);
  t.true(ca.some((m) => /is not a PEM certificate/.test(m)));
  t.true(ca.some((m) => /client_auth_type is NoClientCert/.test(m)));
  t.regex(find(t, problems, 'tls_server_config.client_allowed_sans').message, /RequireAnyClientCert or RequireAndVerifyClientCert/);
  t.regex(find(t, problems, 'tls_server_config.min_version').message, /TLS13 is above max_version TLS12/);
  t.is(problems.length, 6);
});

test('a key without a cert, and a file that is not a certificate', async (t) => {
  const dir = await fixture(t);
  let problems = await problemsOf(t, await write(dir, 'tls_server_config:\n  key_file: certs/server.key\n'));
  t.deepEqual(problems.map((p) => [p.key, p.message]), [['tls_server_config', 'missing one of cert or cert_file']]);
  problems = await problemsOf(t, await write(dir, 'tls_server_config:\n  cert_file: certs/server.key\n  key_file: certs/server.key\n'));
  t.deepEqual(problems.map((p) => p.key), ['tls_server_config.cert_file']);
  t.regex(problems[0]?.message ?? '', /is not a PEM certificate/);
});

test('every problem is listed at once: schema ones first, then semantic ones, each in file order', async (t) => {
  const dir = await fixture(t);
  const file = await write(
    dir,
    `tls_server_config:
  cert_file: certs/missing.crt
  key_file: certs/server.key
  max_version: TLS9
  cipher_suites: [RC4]
rate_limit:
  interval: 1s
basic_auth_users:
  alice: not-a-hash
`,
  );
  const err = await t.throwsAsync(loadWebConfig(file), { instanceOf: ConfigError });
  t.deepEqual(err?.problems.map((p) => [p.key, p.line]), [
    ['tls_server_config.max_version', 4],
    ['rate_limit', 6],
    ['tls_server_config.cert_file', 2],
    ['tls_server_config.cipher_suites[0]', 5],
    ['basic_auth_users.alice', 9],
  ]);
  t.true(err?.problems.every((p) => p.source === file));
  t.is(err?.message.split('\n').length, 5);
  t.true(err?.message.includes(`${file}:6:1: rate_limit: unknown key "rate_limit"`));
});

test('YAML that is not a mapping, and an unreadable file, are ConfigErrors', async (t) => {
  const dir = await fixture(t);
  let problems = await problemsOf(t, await write(dir, '- a\n- b\n'));
  t.deepEqual(problems.map((p) => [p.key, p.message]), [['', 'must be an object, got ["a","b"]']]);
  problems = await problemsOf(t, join(dir, 'absent.yml'));
  t.regex(problems[0]?.message ?? '', /ENOENT/);
});
