import { readFileSync } from 'node:fs';
import { DURATION_PATTERN, parseDuration } from '../../config/duration.js';
import type { CheckContext, ObjectItemSchema, OptionSchema } from '../types.js';

export const DRIVERS = ['postgres', 'mysql'] as const;
export type Driver = (typeof DRIVERS)[number];

export interface TlsOptions {
  enabled: boolean;
  ca: string;
  cert: string;
  key: string;
  server_name: string;
  insecure_skip_verify: boolean;
}

/** One database target with every default applied. */
export interface TargetOptions {
  name: string;
  driver: Driver;
  dsn: string;
  host: string;
  port: number;
  socket: string;
  user: string;
  database: string;
  password_file: string;
  password_env: string;
  tls: TlsOptions;
  query: string;
  statements: { enabled: boolean; top_k: number; query_text: boolean };
  /** `down`: this database not answering takes the host out of the load balancer; `ignore`: never. */
  balance: 'down' | 'ignore';
  /** Where the data lives, instead of what the server reports; empty: ask the server. */
  data_paths: string[];
}

export interface DbOptions {
  queryTimeoutMs: number;
  targets: TargetOptions[];
}

const text = (description: string, def = '') => ({ type: 'string', description, default: def });
const flag = (description: string, def: boolean) => ({ type: 'boolean', description, default: def });

/** Where the Debian packages put the local server's socket: the default when nothing says where. */
export const DEFAULT_SOCKET: Record<Driver, string> = { postgres: '/var/run/postgresql', mysql: '/run/mysqld/mysqld.sock' };
export const DEFAULT_DATABASE: Record<Driver, string> = { postgres: 'postgres', mysql: '' };

const TLS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  description: 'TLS to the server',
  properties: {
    enabled: flag('connect with TLS', false),
    ca: text('a PEM file of the CA(s) to trust (empty: the system CAs)'),
    cert: text('a PEM client certificate file, for certificate authentication'),
    key: text('the PEM private key file of cert'),
    server_name: text('the name the server certificate must carry (empty: host); postgres only'),
    insecure_skip_verify: flag('accept any server certificate (encrypts, but does not authenticate the server)', false),
  },
};

export const TARGET_SCHEMA: ObjectItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'driver'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]+$',
      description: 'a name of letters, digits and _ . : - (the `target` label)',
    },
    driver: { type: 'string', enum: [...DRIVERS], description: 'postgres, or mysql (also for MariaDB)' },
    dsn: text('a URL: postgres://user@host:5432/db, mysql://user@host:3306/db (instead of host, port, socket, user, database)'),
    host: text('a host name or address (TCP)'),
    port: { type: 'integer', minimum: 0, maximum: 65535, description: 'TCP port; 0: 5432 or 3306', default: 0 },
    socket: text('a Unix socket: the directory for postgres (/var/run/postgresql), the file for mysql'),
    user: text('the user to log in as', 'harbinger'),
    database: text('the database to connect to (postgres: where pg_stat_statements is created)'),
    password_file: text('a file whose first line is the password'),
    password_env: { type: 'string', pattern: '^$|^[A-Za-z_][A-Za-z0-9_]*$', description: 'the name of an environment variable', default: '' },
    tls: TLS_SCHEMA,
    query: { type: 'string', minLength: 1, description: 'the probe query', default: 'SELECT 1' },
    statements: {
      type: 'object',
      additionalProperties: false,
      description: 'per-statement latency from pg_stat_statements or performance_schema',
      properties: {
        enabled: flag('read the server\'s statement statistics', true),
        top_k: { type: 'integer', minimum: 0, maximum: 100, description: 'statements with the most time per interval to report', default: 10 },
        query_text: flag('add the normalized query text (harbinger_db_statement_info)', false),
      },
    },
    balance: {
      type: 'string',
      enum: ['down', 'ignore'],
      description: 'down: this database not answering takes the host out of the load balancer; ignore: it never affects the balance (an instance not behind the load balancer)',
      default: 'down',
    },
    data_paths: {
      type: 'array',
      items: { type: 'string', pattern: '^/', description: 'an absolute path' },
      description: 'where this database keeps its data, instead of what the server reports (data_directory, tablespaces, WAL; datadir, InnoDB directories)',
      default: [],
    },
  },
};

export const DB_OPTIONS: Readonly<Record<string, OptionSchema>> = {
  query_timeout: {
    type: 'string',
    pattern: DURATION_PATTERN,
    description: 'a duration like 15s, 1m30s or 500ms',
    $comment: 'cancel a probe or statistics query on the server (and give up a connection attempt) after this long',
    default: '2s',
  },
  targets: {
    type: 'array',
    items: TARGET_SCHEMA,
    description: 'databases to probe: a list of objects (in a flag or env var: a JSON array)',
    default: [],
  },
};

type RawTarget = Partial<Omit<TargetOptions, 'tls' | 'statements'>> & {
  tls?: Partial<TlsOptions>;
  statements?: Partial<TargetOptions['statements']>;
};

/** The schema-valid options with every target's defaults filled in. */
export function resolveOptions(options: Readonly<Record<string, unknown>>): DbOptions {
  const targets = ((options.targets ?? []) as RawTarget[]).map((raw): TargetOptions => {
    const driver = raw.driver ?? 'postgres';
    const located = Boolean(raw.dsn || raw.host || raw.socket);
    return {
      name: raw.name ?? '',
      driver,
      dsn: raw.dsn ?? '',
      host: raw.host ?? '',
      port: raw.port || (driver === 'postgres' ? 5432 : 3306),
      socket: raw.socket || (located ? '' : DEFAULT_SOCKET[driver]),
      user: raw.user ?? 'harbinger',
      database: raw.database || DEFAULT_DATABASE[driver],
      password_file: raw.password_file ?? '',
      password_env: raw.password_env ?? '',
      tls: {
        enabled: raw.tls?.enabled ?? false,
        ca: raw.tls?.ca ?? '',
        cert: raw.tls?.cert ?? '',
        key: raw.tls?.key ?? '',
        server_name: raw.tls?.server_name ?? '',
        insecure_skip_verify: raw.tls?.insecure_skip_verify ?? false,
      },
      query: raw.query ?? 'SELECT 1',
      statements: {
        enabled: raw.statements?.enabled ?? true,
        top_k: raw.statements?.top_k ?? 10,
        query_text: raw.statements?.query_text ?? false,
      },
      balance: raw.balance ?? 'down',
      data_paths: raw.data_paths ?? [],
    };
  });
  return { queryTimeoutMs: parseDuration(String(options.query_timeout ?? '2s')), targets };
}

const DSN_SCHEMES: Record<Driver, readonly string[]> = { postgres: ['postgres:', 'postgresql:'], mysql: ['mysql:', 'mariadb:'] };
const DSN_TLS_PARAMS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey'];

/**
 * What the schema cannot say about targets: one way to reach the server, one place for the
 * password, files that can be read, unique names. Messages never repeat a DSN: it may hold a
 * password.
 */
export function checkDbOptions(options: Readonly<Record<string, unknown>>, context: CheckContext): Array<{ key: string; message: string }> {
  const problems: Array<{ key: string; message: string }> = [];
  const queryTimeoutMs = parseDuration(String(options.query_timeout ?? '2s'));
  if (queryTimeoutMs <= 0) problems.push({ key: 'query_timeout', message: 'must be more than 0' });
  else if (queryTimeoutMs * 2 > context.timeoutMs) {
    // A round may need a connection and then a query, each allowed query_timeout.
    problems.push({ key: 'query_timeout', message: `must be at most half of the collector's timeout (${context.timeoutMs} ms), got ${queryTimeoutMs} ms` });
  }
  const raw = (options.targets ?? []) as RawTarget[];
  const seen = new Map<string, number>();
  raw.forEach((target, i) => {
    const at = (key: string, message: string) => problems.push({ key: `targets[${i}]${key ? `.${key}` : ''}`, message });
    const first = seen.get(target.name ?? '');
    if (first !== undefined) at('name', `"${target.name}" is already the name of targets[${first}]; names must be unique`);
    else seen.set(target.name ?? '', i);
    const driver = target.driver ?? 'postgres';

    let dsnHasPassword = false;
    if (target.dsn) {
      for (const key of ['host', 'socket', 'port', 'user', 'database'] as const) {
        if (target[key]) at(key, 'cannot be set together with dsn: put it in the DSN, or drop the DSN');
      }
      let url: URL | undefined;
      try {
        url = new URL(target.dsn);
      } catch {
        // A libpq key=value DSN (`host=db password=secret`) is not a URL, but its password is refused first.
        if (/(^|\s)password\s*=/i.test(target.dsn)) dsnHasPassword = true;
        else at('dsn', `is not a URL like ${DSN_SCHEMES[driver][0]}//user@host/database`);
      }
      if (url && !DSN_SCHEMES[driver].includes(url.protocol)) {
        at('dsn', `must start with ${DSN_SCHEMES[driver].map((s) => `${s}//`).join(' or ')} for driver ${driver}`);
      }
      if (url && (url.password || url.searchParams.has('password'))) dsnHasPassword = true;
      // A DSN is shown in ps, in shell history and in support bundles; a password file is not.
      if (dsnHasPassword) at('dsn', 'must not contain the password: put it in password_file (a file whose first line is the password)');
      if (url && target.tls?.enabled && DSN_TLS_PARAMS.some((p) => url.searchParams.has(p))) {
        at('tls.enabled', 'the DSN has TLS parameters too; set TLS in one place');
      }
    }
    if (target.host && target.socket) at('socket', 'cannot be set together with host: one is TCP, the other a Unix socket');
    const passwordSources = [target.password_file && 'password_file', target.password_env && 'password_env'].filter(Boolean);
    if (passwordSources.length > 1) at(target.password_env ? 'password_env' : 'password_file', `the password is set in ${passwordSources.join(' and ')}; set it in one place`);
    if (target.password_env?.startsWith('HARBINGER_')) {
      at('password_env', 'must not start with HARBINGER_ (those names are settings): use a name like PG_MAIN_PASSWORD');
    } else if (target.password_env && context.env && !context.env[target.password_env]) {
      at('password_env', `names ${target.password_env}, which is not set (or is empty) in the environment: set it there, or use password_file`);
    }
    if (target.password_file) {
      const problem = unreadable(target.password_file, true);
      if (problem) at('password_file', problem);
    }

    const tls = target.tls ?? {};
    for (const key of ['ca', 'cert', 'key'] as const) {
      const file = tls[key];
      if (!file) continue;
      const problem = unreadable(file, false);
      if (problem) at(`tls.${key}`, problem);
    }
    if (!tls.enabled) {
      for (const key of ['ca', 'cert', 'key', 'server_name', 'insecure_skip_verify'] as const) {
        if (tls[key]) at(`tls.${key}`, 'is set but tls.enabled is false: enable TLS, or remove it');
      }
    }
    if (Boolean(tls.cert) !== Boolean(tls.key)) at(tls.cert ? 'tls.key' : 'tls.cert', 'a client certificate needs both tls.cert and tls.key');
    if (driver === 'mysql' && tls.server_name) {
      at('tls.server_name', 'is not supported by the mysql driver, which checks the certificate against host: connect by that name');
    }
  });
  return problems;
}

/** Why a file cannot be used, or undefined when it can. */
function unreadable(file: string, secret: boolean): string | undefined {
  try {
    const content = readFileSync(file, 'utf8');
    if (secret && content.split('\n')[0]!.trim() === '') return `${file} is empty (the password is its first line)`;
    return undefined;
  } catch (err) {
    return `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
}
