/**
 * Why a probe failed, the `reason` label of harbinger_db_probe_errors_total:
 * - connect: no connection (refused, no socket, TLS, too many connections, connection lost);
 * - auth: the server refused the login (password, pg_hba.conf, grants on the database);
 * - timeout: the probe query ran past query_timeout and was cancelled on the server;
 * - query: the server answered the probe query with an error.
 */
export const REASONS = ['connect', 'auth', 'timeout', 'query'] as const;
export type Reason = (typeof REASONS)[number];

export type Phase = 'connect' | 'query';

/**
 * What a failure says about the database, for the load balancer:
 * - unanswered: the database is not serving (refused, reset, no socket, a timeout, shutting down
 *   or starting up); enough of these in a row take the host out;
 * - monitoring: the server answered, but harbinger cannot watch it (login refused, a missing grant,
 *   a failed probe query, TLS or the monitoring connection's configuration). Clients of the
 *   database are not affected, so this never takes the host out.
 * Anything not known to mean "not serving" is a monitoring fault: an unrecognised error must not
 * take a healthy database out of the pool.
 */
export type Fault = 'unanswered' | 'monitoring';

/** A failure with its reason; the message is the driver's, which never carries the password. */
export class DbError extends Error {
  override name = 'DbError';

  constructor(
    readonly reason: Reason,
    message: string,
    readonly code?: string,
    readonly fault: Fault = reason === 'timeout' ? 'unanswered' : 'monitoring',
  ) {
    super(message);
  }
}

/** Socket errors of a server that is not there or went away (Node.js `code`). */
const NOT_SERVING_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);
/** Driver messages without a code that mean the connection went away or never came (node-postgres, our own deadlines). */
const NOT_SERVING_MESSAGE = /connection terminated|timeout expired|connection timeout|took longer than/i;

interface DriverError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
}

const codeOf = (err: unknown): string | undefined => {
  const code = (err as DriverError | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** SQLSTATE classes (PostgreSQL appendix A). */
const PG_AUTH = /^28/; // invalid authorization specification, invalid password
const PG_CONNECTION = /^(08|57P0[1-5])/; // connection exception; admin/crash shutdown, cannot connect now, idle timeouts
/** Connection lost or never made (08000, 08003, 08006); shutting down (57P01, 57P02) or starting up (57P03). */
const PG_NOT_SERVING = /^(0800[036]|57P0[123])$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

function postgresFault(code: string | undefined, message: string): Fault {
  if (code === undefined) return NOT_SERVING_MESSAGE.test(message) ? 'unanswered' : 'monitoring';
  return NOT_SERVING_CODES.has(code) || PG_NOT_SERVING.test(code) ? 'unanswered' : 'monitoring';
}

/** A node-postgres error (SQLSTATE `code`, or a Node.js socket error) as a reason. */
export function classifyPostgres(err: unknown, phase: Phase): DbError {
  if (err instanceof DbError) return err;
  const code = codeOf(err);
  const message = messageOf(err);
  const as = (reason: Reason) => new DbError(reason, message, code, reason === 'timeout' ? 'unanswered' : postgresFault(code, message));
  if (code && PG_AUTH.test(code)) return as('auth');
  if (code === '57014') return as('timeout'); // query_canceled: statement_timeout or pg_cancel_backend
  if (phase === 'connect') return as('connect');
  if (code && PG_CONNECTION.test(code)) return as('connect');
  // No SQLSTATE: the socket failed (ECONNRESET, "Connection terminated unexpectedly").
  if (!code || !SQLSTATE.test(code)) return as('connect');
  return as('query');
}

// Server error numbers (mysql2 names only MySQL's; MariaDB's own, like 1969, come as errno only).
const MYSQL_AUTH = new Set([
  1045, // ER_ACCESS_DENIED_ERROR: wrong password
  1044, // ER_DBACCESS_DENIED_ERROR: no grant on the database
  1130, // ER_HOST_NOT_PRIVILEGED: no account for this host
  1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR: unix_socket/auth_socket refused
  1251, // ER_NOT_SUPPORTED_AUTH_MODE
  3118, // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL)
  4151, // ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
  1862, // ER_MUST_CHANGE_PASSWORD_LOGIN
]);
const MYSQL_TIMEOUT = new Set([
  1317, // ER_QUERY_INTERRUPTED: KILL QUERY
  1969, // ER_STATEMENT_TIMEOUT: MariaDB max_statement_time
  3024, // ER_QUERY_TIMEOUT: MySQL max_execution_time
]);
/** The server is going away or threw us out; mysql2's own codes for a lost connection. */
const MYSQL_NOT_SERVING = new Set([1053, 1927]);
const MYSQL_LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT']);

function mysqlFault(errno: number | undefined, code: string | undefined, fromServer: boolean, message: string): Fault {
  if (fromServer) return MYSQL_NOT_SERVING.has(errno!) ? 'unanswered' : 'monitoring';
  if (code === undefined) return NOT_SERVING_MESSAGE.test(message) ? 'unanswered' : 'monitoring';
  return NOT_SERVING_CODES.has(code) || MYSQL_LOST.has(code) ? 'unanswered' : 'monitoring';
}

const MYSQL_CONNECTION = new Set([
  1040, // ER_CON_COUNT_ERROR: too many connections
  1053, // ER_SERVER_SHUTDOWN
  1927, // ER_CONNECTION_KILLED
]);

/** A mysql2 error (a server error with `errno` and `sqlState`, or a client or socket error) as a reason. */
export function classifyMysql(err: unknown, phase: Phase): DbError {
  if (err instanceof DbError) return err;
  const e = (err ?? {}) as DriverError & { sqlState?: unknown };
  const errno = typeof e.errno === 'number' ? e.errno : undefined;
  const fromServer = typeof e.sqlState === 'string' && errno !== undefined;
  // Server errors by number (MariaDB's own have no name in mysql2), others by their code.
  const code = fromServer ? String(errno) : codeOf(err);
  const message = messageOf(err);
  const as = (reason: Reason) => new DbError(reason, message, code, reason === 'timeout' ? 'unanswered' : mysqlFault(errno, code, fromServer, message));
  if (fromServer && MYSQL_AUTH.has(errno)) return as('auth');
  if (code === 'AUTH_SWITCH_PLUGIN_ERROR') return as('auth');
  if (fromServer && MYSQL_TIMEOUT.has(errno)) return as('timeout');
  if (phase === 'connect') return as('connect');
  if (fromServer && MYSQL_CONNECTION.has(errno)) return as('connect');
  // PROTOCOL_CONNECTION_LOST, ECONNRESET…: the connection, not the query.
  if (!fromServer || e.fatal === true) return as('connect');
  return as('query');
}
