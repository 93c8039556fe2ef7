import test from 'ava';
import { classifyMysql, classifyPostgres, DbError } from '../../../src/collectors/db/errors.js';

// Errors as node-postgres and mysql2 raise them: a Node.js socket error has `code`; a server
// error has the SQLSTATE (pg) or errno + sqlState (mysql2).
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });
const pgError = (code: string, message = 'server error') => Object.assign(new Error(message), { code, severity: 'FATAL' });
const mysqlError = (errno: number, message = 'server error') => Object.assign(new Error(message), { errno, sqlState: 'HY000', code: 'ER_X', fatal: true });

test('PostgreSQL: only failures that mean "not serving" are unanswered', (t) => {
  const fault = (err: unknown, phase: 'connect' | 'query' = 'connect') => classifyPostgres(err, phase).fault;
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT']) t.is(fault(socketError(code)), 'unanswered', code);
  t.is(fault(pgError('57P01', 'terminating connection due to administrator command'), 'query'), 'unanswered', 'shutting down');
  t.is(fault(pgError('57P03', 'the database system is starting up')), 'unanswered', 'starting up');
  t.is(fault(new Error('Connection terminated unexpectedly'), 'query'), 'unanswered');
  t.is(fault(new Error('Connection terminated due to connection timeout')), 'unanswered');
  t.is(fault(pgError('57014', 'canceling statement due to statement timeout'), 'query'), 'unanswered', 'a timeout');
  t.is(fault(pgError('28P01', 'password authentication failed for user "harbinger"')), 'monitoring');
  t.is(fault(pgError('28000', 'role "nosuchuser" does not exist')), 'monitoring');
  t.is(fault(pgError('42501', 'permission denied for database "app"')), 'monitoring', 'a missing grant');
  t.is(fault(pgError('3D000', 'database "nope" does not exist')), 'monitoring');
  t.is(fault(pgError('42P01', 'relation "no_such_table" does not exist'), 'query'), 'monitoring');
  t.is(fault(pgError('53300', 'sorry, too many clients already')), 'monitoring', 'the server answers: it is full, not down');
  t.is(fault(new Error('The server does not support SSL connections')), 'monitoring', 'TLS');
  t.is(fault(Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })), 'monitoring', 'TLS');
  t.is(fault(socketError('EACCES')), 'monitoring', 'no permission on the socket');
  t.is(fault(socketError('ENOTFOUND')), 'monitoring', 'a host name that does not resolve is configuration');
  t.is(fault(new Error('something nobody has seen before')), 'monitoring', 'unknown errors never take a database out');
});

test('MySQL/MariaDB: only failures that mean "not serving" are unanswered', (t) => {
  const fault = (err: unknown, phase: 'connect' | 'query' = 'connect') => classifyMysql(err, phase).fault;
  for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST']) {
    t.is(fault(Object.assign(new Error(code), { code, fatal: true })), 'unanswered', code);
  }
  t.is(fault(mysqlError(1053, 'Server shutdown in progress'), 'query'), 'unanswered');
  t.is(fault(mysqlError(1969, 'Query execution was interrupted (max_statement_time exceeded)'), 'query'), 'unanswered', 'a timeout');
  t.is(fault(new Error('connecting took longer than 2000 ms')), 'unanswered');
  t.is(fault(mysqlError(1045, "Access denied for user 'harbinger'@'localhost'")), 'monitoring');
  t.is(fault(mysqlError(1044, "Access denied for user 'harbinger'@'%' to database 'app'")), 'monitoring');
  t.is(fault(mysqlError(1146, "Table 'app.nope' doesn't exist"), 'query'), 'monitoring');
  t.is(fault(mysqlError(1040, 'Too many connections')), 'monitoring');
  t.is(fault(Object.assign(new Error('Server does not support secure connection'), { code: 'HANDSHAKE_NO_SSL_SUPPORT', fatal: true })), 'monitoring', 'TLS');
});

test("the agent's own configuration failures are monitoring faults; a deadline is unanswered", (t) => {
  t.is(new DbError('auth', 'cannot read password_file /etc/x (EACCES)').fault, 'monitoring');
  t.is(new DbError('connect', 'cannot read tls.ca /etc/ca.pem (ENOENT)').fault, 'monitoring');
  t.is(new DbError('timeout', 'no answer within 2000 ms').fault, 'unanswered');
});
