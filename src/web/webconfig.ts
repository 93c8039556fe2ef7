import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { ConfigError, type ConfigProblem } from '../config/problems.js';
import { closest, compileSchema, formatKey, schemaProblems } from '../config/schema-problems.js';
import { readYamlSource } from '../config/yaml-source.js';

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** Options for `https.createServer`, plus what Node cannot enforce by itself (mode, allowedSans). */
export interface WebTlsConfig {
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca?: Buffer;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly mode: ClientAuthType;
  readonly minVersion?: SecureVersion;
  readonly maxVersion?: SecureVersion;
  readonly ciphers?: string;
  readonly ecdhCurve?: string;
  readonly honorCipherOrder?: boolean;
  readonly allowedSans?: readonly string[];
}

/** A loaded web-config.yml: PEM contents are read in, so reloading is calling loadWebConfig again. */
export interface WebConfig {
  readonly tls?: WebTlsConfig;
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
}

const TLS_VERSIONS = new Map<string, SecureVersion>([
  ['TLS10', 'TLSv1'], ['TLS11', 'TLSv1.1'], ['TLS12', 'TLSv1.2'], ['TLS13', 'TLSv1.3'],
]);
const CURVES = new Map([['CurveP256', 'prime256v1'], ['CurveP384', 'secp384r1'], ['CurveP521', 'secp521r1'], ['X25519', 'X25519']]);
/** Go's crypto/tls CipherSuites() names → OpenSSL names. TLS 1.3 names are the same in both. */
const CIPHERS = new Map([
  ['TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA'],
  ['TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA'],
  ['TLS_RSA_WITH_AES_128_GCM_SHA256', 'AES128-GCM-SHA256'],
  ['TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
  ['TLS_AES_128_GCM_SHA256', 'TLS_AES_128_GCM_SHA256'],
  ['TLS_AES_256_GCM_SHA384', 'TLS_AES_256_GCM_SHA384'],
  ['TLS_CHACHA20_POLY1305_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'],
]);
/** The modular-crypt forms Go's bcrypt.Cost accepts, which is what exporter-toolkit checks at startup. */
const BCRYPT_HASH = /^\$2[aby]?\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

const str = { type: 'string' } as const;
const strList = { type: 'array', items: str } as const;
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tls_server_config: {
      type: 'object',
      additionalProperties: false,
      properties: {
        cert_file: str, key_file: str, cert: str, key: str, client_auth_type: str,
        client_ca_file: str, client_ca: str, cipher_suites: strList, client_allowed_sans: strList,
        min_version: { type: 'string', enum: [...TLS_VERSIONS.keys()] },
        max_version: { type: 'string', enum: [...TLS_VERSIONS.keys()] },
        curve_preferences: { type: 'array', items: { type: 'string', enum: [...CURVES.keys()] } },
        prefer_server_cipher_suites: { type: 'boolean' },
      },
    },
    http_server_config: {
      type: 'object',
      additionalProperties: false,
      properties: {
        http2: { type: 'boolean' }, // accepted for compatibility, ignored: this server speaks HTTP/1.1
        // exporter-toolkit's allow-list: only these names (case-sensitive), two of them enumerated.
        headers: {
          type: 'object',
          additionalProperties: false,
          properties: {
            'Content-Security-Policy': str,
            'Strict-Transport-Security': str,
            'X-Content-Type-Options': { type: 'string', enum: ['nosniff'] },
            'X-Frame-Options': { type: 'string', enum: ['deny', 'sameorigin'] },
            'X-XSS-Protection': str,
          },
        },
      },
    },
    basic_auth_users: { type: 'object', additionalProperties: str },
  },
} as const;

type Add = (path: (string | number)[], message: string) => void;

/**
 * Loads an exporter-toolkit web-config.yml and reads the PEM files it names. Throws one
 * ConfigError listing every problem: schema ones first, then semantic ones (files, hashes, names).
 */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  const src = await readYamlSource(file);
  const origin = (path: readonly (string | number)[]) => ({ source: file, ...src.locate(path) });
  const root = dropNulls(src.value, ['tls_server_config', 'http_server_config']);
  const raw = record(root); // semantic checks read it defensively: they run even when the schema failed
  // Compiled per load: an Ajv validator keeps its last errors on itself, so sharing one is shared state.
  const validate = compileSchema(SCHEMA);
  const schema = validate(root) ? [] : schemaProblems(validate.errors, origin);
  const problems: ConfigProblem[] = [];
  const add: Add = (path, message) => problems.push({ key: formatKey(path.map(String)), message, ...origin(path) });

  const users = new Map<string, string>();
  for (const [user, hash] of Object.entries(record(raw['basic_auth_users']))) {
    if (typeof hash !== 'string') continue; // the schema reported it
    if (!BCRYPT_HASH.test(hash)) add(['basic_auth_users', user], 'must be a bcrypt hash ($2y$/$2b$/$2a$, cost 04-31), e.g. from `htpasswd -nBC 10 USER`');
    else if (user.includes(':')) add(['basic_auth_users', user], 'a user name cannot contain ":" (Basic auth splits user and password at the first ":")');
    else users.set(user, hash);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record(record(raw['http_server_config'])['headers']))) {
    if (typeof value === 'string') headers[name] = value; // names and values: checked by the schema
  }
  const tls = await loadTls(record(raw['tls_server_config']), dirname(resolve(file)), add);

  if (schema.length + problems.length > 0) throw new ConfigError([...byLine(schema), ...byLine(problems)]);
  return Object.freeze({ ...(tls ? { tls } : {}), basicAuthUsers: users, headers: Object.freeze(headers) });
}

async function loadTls(t: Record<string, unknown>, dir: string, add: Add): Promise<WebTlsConfig | undefined> {
  const at = (key: string) => ['tls_server_config', key];
  const text = (key: string) => (typeof t[key] === 'string' && t[key] !== '' ? (t[key] as string) : undefined);
  // As in exporter-toolkit, TLS is on only when a cert, key, CA or client auth is set; the rest alone is ignored.
  if (!['cert_file', 'cert', 'key_file', 'key', 'client_ca_file', 'client_ca', 'client_auth_type'].some((k) => text(k))) {
    return undefined;
  }
  const pem = async (fileKey: string, inlineKey: string, required: boolean): Promise<Buffer | undefined> => {
    const path = text(fileKey);
    const inline = text(inlineKey);
    if (path && inline) add(at(fileKey), `set only one of ${fileKey} and ${inlineKey}`);
    else if (inline) return Buffer.from(inline);
    else if (!path && required) add(['tls_server_config'], `missing one of ${inlineKey} or ${fileKey}`);
    if (!path) return undefined;
    const abs = resolve(dir, path); // relative to the web config file's directory, as exporter-toolkit does
    try {
      return await readFile(abs);
    } catch (err) {
      add(at(fileKey), `cannot read ${abs} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const [cert, key, ca] = await Promise.all([pem('cert_file', 'cert', true), pem('key_file', 'key', true), pem('client_ca_file', 'client_ca', false)]);
  const certKey = text('cert_file') ? 'cert_file' : 'cert';
  const keyKey = text('key_file') ? 'key_file' : 'key';
  const caKey = text('client_ca_file') ? 'client_ca_file' : 'client_ca';
  if (cert && isCertificate(cert, at(certKey), add) && key) {
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      add(at(keyKey), `the key does not load or does not match the certificate (${(err as Error).message})`);
    }
  }
  if (ca) isCertificate(ca, at(caKey), add);

  // RequireClientCert: exporter-toolkit's backward-compatible alias. An unknown type leaves mode
  // undefined, so the rules below that depend on it do not add problems that are only echoes.
  const authType = text('client_auth_type') ?? 'NoClientCert';
  const mode = authType === 'RequireClientCert' ? 'RequireAnyClientCert' : CLIENT_AUTH_TYPES.find((m) => m === authType);
  if (!mode) add(at('client_auth_type'), unknown('client_auth_type', authType, CLIENT_AUTH_TYPES));
  if (ca && mode === 'NoClientCert') {
    add(at(caKey), 'a client CA is set but client_auth_type is NoClientCert; set client_auth_type (e.g. RequireAndVerifyClientCert)');
  }
  // Kept even when empty: exporter-toolkit then refuses every certificate, and so does harbinger.
  const sans = Array.isArray(t['client_allowed_sans']) ? strings(t['client_allowed_sans']) : undefined;
  if (sans && mode && mode !== 'RequireAnyClientCert' && mode !== 'RequireAndVerifyClientCert') {
    add(at('client_allowed_sans'), 'requires client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert');
  }

  // exporter-toolkit's defaults: TLS 1.2 to 1.3, server cipher order preferred.
  const minName = text('min_version') ?? 'TLS12';
  const maxName = text('max_version') ?? 'TLS13';
  const minVersion = TLS_VERSIONS.get(minName);
  const maxVersion = TLS_VERSIONS.get(maxName);
  if (minVersion && maxVersion && minName > maxName) add(at('min_version'), `${minName} is above max_version ${maxName}`);

  const ciphers: string[] = [];
  (Array.isArray(t['cipher_suites']) ? (t['cipher_suites'] as unknown[]) : []).forEach((name, i) => {
    if (typeof name !== 'string') return;
    const openssl = CIPHERS.get(name);
    if (openssl) ciphers.push(openssl);
    else add(['tls_server_config', 'cipher_suites', i], unknown('cipher suite', name, [...CIPHERS.keys()]));
  });
  const curves = strings(t['curve_preferences']).flatMap((c) => CURVES.get(c) ?? []);
  const honor = t['prefer_server_cipher_suites'];

  if (!cert || !key || !mode) return undefined; // already reported
  return Object.freeze({
    cert,
    key,
    ...(ca ? { ca } : {}),
    mode,
    // Node refuses at the handshake only with rejectUnauthorized; otherwise it records
    // socket.authorized, which server.ts checks per request for the modes Node cannot express.
    requestCert: mode !== 'NoClientCert',
    rejectUnauthorized: mode === 'RequireAndVerifyClientCert',
    ...(minVersion ? { minVersion } : {}),
    ...(maxVersion ? { maxVersion } : {}),
    ...(ciphers.length ? { ciphers: ciphers.join(':') } : {}),
    ...(curves.length ? { ecdhCurve: curves.join(':') } : {}),
    honorCipherOrder: typeof honor === 'boolean' ? honor : true,
    ...(sans ? { allowedSans: Object.freeze(sans) } : {}),
  });
}

/** Checked at load so a bad PEM is reported with its key, not as a TLS error at the first scrape. */
function isCertificate(pem: Buffer, path: string[], add: Add): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch (err) {
    add(path, `is not a PEM certificate (${(err as Error).message})`);
    return false;
  }
}

function unknown(what: string, value: string, known: readonly string[]): string {
  const guess = closest(value, known);
  return `unknown ${what} "${value}"${guess ? `; did you mean "${guess}"?` : ''} (known: ${known.join(', ')})`;
}

/** In file order, so a long list reads top to bottom alongside the file. */
function byLine(problems: ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * `tls_server_config:` with nothing under it, or `cert_file:` left empty, is YAML null; Go's YAML
 * decoder reads those as empty values, so drop them here (in the root and the named sections only:
 * a null password hash or header value stays, for the schema to report).
 */
function dropNulls(value: unknown, sections: readonly string[]): Record<string, unknown> | unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    out[k] = sections.includes(k) ? dropNulls(v, []) : v;
  }
  return out;
}
