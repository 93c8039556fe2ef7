import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../../../src/logger.js';

test('the logger redacts passwords and DSNs wherever a database setting could be logged', (t) => {
  let out = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  });
  const logger = createLogger('debug', stream as unknown as Parameters<typeof createLogger>[1]);
  const dsn = 'postgres://harbinger:dsn-secret-Kx5@db1/app';
  logger.info({ dsn, password: 'pw-secret-1' }, 'top level');
  logger.info({ target: { name: 'main', dsn, password: 'pw-secret-2' } }, 'nested');
  logger.info({ settings: { targets: { dsn } } }, 'two levels');
  logger.child({ target: 'main' }).warn({ connectionString: dsn, uri: 'mysql://u:uri-secret-9@h/db' }, 'driver config');
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(lines.length, 4);
  for (const secret of ['dsn-secret-Kx5', 'pw-secret-1', 'pw-secret-2', 'uri-secret-9']) t.false(out.includes(secret), secret);
  t.is(lines[0]!.dsn, '[redacted]');
  t.is((lines[1]!.target as Record<string, unknown>).name, 'main', 'what is not secret stays');
});
