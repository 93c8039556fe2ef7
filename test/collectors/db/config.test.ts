import test from 'ava';
import { resolveOptions } from '../../../src/collectors/db/options.js';
import { load, problems } from '../../helpers/config.js';
import { writeTemp } from '../../helpers/tmp.js';



test('defaults: on, every 15 s, no targets (nothing to do until one is listed)', async (t) => {
  const config = await load({ configFile: await writeTemp(t, 'h.yml', '') });
  t.deepEqual(config.collector.db, { enabled: true, intervalMs: 15_000, timeoutMs: 10_000, options: { query_timeout: '2s', targets: [] } });
});

test('a target from the file gets every default filled in', async (t) => {
  const pw = await writeTemp(t, 'pg.pass', 'secret\n');
  const file = await writeTemp(
    t,
    'h.yml',
    ['collector:', '  db:', '    targets:', '      - name: main', '        driver: postgres', `        password_file: ${pw}`, '        host: db1', '      - name: maria', '        driver: mysql', ''].join('\n'),
  );
  const config = await load({ configFile: file });
  const { targets, queryTimeoutMs } = resolveOptions(config.collector.db!.options);
  t.is(queryTimeoutMs, 2000);
  t.like(targets[0], { name: 'main', driver: 'postgres', host: 'db1', port: 5432, socket: '', user: 'harbinger', database: 'postgres', query: 'SELECT 1' });
  t.deepEqual(targets[0]!.statements, { enabled: true, top_k: 10, query_text: false });
  t.deepEqual(targets[0]!.tls, { enabled: false, ca: '', cert: '', key: '', server_name: '', insecure_skip_verify: false });
  t.like(targets[1], { name: 'maria', driver: 'mysql', host: '', port: 3306, socket: '/run/mysqld/mysqld.sock', database: '' });
});

test('schema problems name the key with the list index and the line', async (t) => {
  const file = await writeTemp(
    t,
    'h.yml',
    [
      'collector:', // 1
      '  db:', // 2
      '    targets:', // 3
      '      - name: a', // 4
      '        driver: postgres', // 5
      '        hots: db1', // 6: typo
      '      - name: b', // 7
      '        driver: oracle', // 8: not a driver
      '        statements:', // 9
      '          top_k: 1000', // 10: over the bound
      '      - driver: mysql', // 11: no name
      '',
    ].join('\n'),
  );
  const found = await problems(load({ configFile: file }));
  t.is(found.length, 4, found.join('\n'));
  t.true(found.includes(`${file}:6:9: collector.db.targets[0].hots: unknown key "hots"; did you mean "host"? (known keys here: name, driver, dsn, host, port, socket, user, database, password_file, password_env, tls, query, statements, balance, data_paths)`), found.join('\n'));
  t.true(found.includes(`${file}:8:9: collector.db.targets[1].driver: must be one of: "postgres", "mysql", got "oracle"`), found.join('\n'));
  t.true(found.includes(`${file}:10:11: collector.db.targets[1].statements.top_k: must be <= 100, got 1000`), found.join('\n'));
  t.true(found.includes(`${file}:11:9: collector.db.targets[2].name: is required`), found.join('\n'));
});

test('semantic problems: one place for the address and the password, readable files, unique names; a DSN is never echoed', async (t) => {
  const secretDsn = 'postgres://harbinger:dsn-secret-3e1@db1/app';
  const file = await writeTemp(
    t,
    'h.yml',
    [
      'collector:', // 1
      '  db:', // 2
      '    query_timeout: 6s', // 3: more than half of the 10 s timeout
      '    targets:', // 4
      '      - name: a', // 5
      '        driver: postgres', // 6
      `        dsn: "${secretDsn}"`, // 7: with a password
      '        host: db2', // 8: with a DSN
      '        password_file: /nonexistent/pg.pass', // 9: unreadable
      '      - name: a', // 10: duplicate
      '        driver: mysql', // 11
      '        dsn: "postgres://x@y/z"', // 12: wrong scheme for mysql
      '        password_env: HARBINGER_DB_PASSWORD', // 13: a settings name
      '        tls:', // 14
      '          ca: /nonexistent/ca.pem', // 15: unreadable, and TLS off
      '          server_name: db.example', // 16: mysql cannot
      '',
    ].join('\n'),
  );
  const found = await problems(load({ configFile: file }));
  const expected = [
    `${file}:3:5: collector.db.query_timeout: must be at most half of the collector's timeout (10000 ms), got 6000 ms`,
    `${file}:8:9: collector.db.targets[0].host: cannot be set together with dsn: put it in the DSN, or drop the DSN`,
    `${file}:7:9: collector.db.targets[0].dsn: must not contain the password: put it in password_file (a file whose first line is the password)`,
    `${file}:9:9: collector.db.targets[0].password_file: cannot read /nonexistent/pg.pass (ENOENT)`,
    `${file}:10:9: collector.db.targets[1].name: "a" is already the name of targets[0]; names must be unique`,
    `${file}:12:9: collector.db.targets[1].dsn: must start with mysql:// or mariadb:// for driver mysql`,
    `${file}:13:9: collector.db.targets[1].password_env: must not start with HARBINGER_ (those names are settings): use a name like PG_MAIN_PASSWORD`,
    `${file}:15:11: collector.db.targets[1].tls.ca: cannot read /nonexistent/ca.pem (ENOENT)`,
    `${file}:15:11: collector.db.targets[1].tls.ca: is set but tls.enabled is false: enable TLS, or remove it`,
    `${file}:16:11: collector.db.targets[1].tls.server_name: is set but tls.enabled is false: enable TLS, or remove it`,
    `${file}:16:11: collector.db.targets[1].tls.server_name: is not supported by the mysql driver, which checks the certificate against host: connect by that name`,
  ];
  t.deepEqual([...found].sort(), [...expected].sort());
  t.false(found.join('\n').includes('dsn-secret-3e1'));
});

test('a DSN with a password is refused, in every form, and points at password_file', async (t) => {
  const dsns = [
    ['postgres', 'postgres://harbinger:pw-secret-1@db1/app'],
    ['postgres', 'postgresql://harbinger@db1/app?password=pw-secret-2'],
    ['postgres', 'host=db1 user=harbinger password=pw-secret-3 dbname=app'],
    ['postgres', 'host=db1 PASSWORD = pw-secret-4'],
    ['mysql', 'mysql://harbinger:pw-secret-5@db1:3306/app'],
    ['mysql', 'mariadb://harbinger:pw-secret-6@db1/app'],
  ];
  const targets = dsns.map(([driver, dsn], i) => ({ name: `t${i}`, driver, dsn }));
  const file = await writeTemp(t, 'h.yml', `collector:\n  db:\n    targets: ${JSON.stringify(targets)}\n`);
  const found = await problems(load({ configFile: file }));
  t.deepEqual(
    found.map((line) => line.replace(/^.*?collector\.db\./, '')),
    dsns.map((_, i) => `targets[${i}].dsn: must not contain the password: put it in password_file (a file whose first line is the password)`),
  );
  t.false(/pw-secret/.test(found.join('\n')), 'the password is not echoed');
  const fine = await writeTemp(t, 'ok.yml', `collector:\n  db:\n    targets: ${JSON.stringify([{ name: 'a', driver: 'postgres', dsn: 'postgres://harbinger@db1/app?sslmode=disable' }])}\n`);
  t.is(((await load({ configFile: fine })).collector.db!.options.targets as unknown[]).length, 1);
});

test('password_env must name a variable that is set and not empty', async (t) => {
  const file = await writeTemp(
    t,
    'h.yml',
    `collector:\n  db:\n    targets: ${JSON.stringify([
      { name: 'a', driver: 'postgres', host: 'db1', password_env: 'PG_UNSET_PASSWORD' },
      { name: 'b', driver: 'postgres', host: 'db2', password_env: 'PG_EMPTY_PASSWORD' },
      { name: 'c', driver: 'postgres', host: 'db3', password_env: 'PG_SET_PASSWORD' },
    ])}\n`,
  );
  const found = await problems(load({ configFile: file, env: { PG_EMPTY_PASSWORD: '', PG_SET_PASSWORD: 'x' } }));
  t.deepEqual(found.map((line) => line.replace(/^.*?collector\.db\./, '')), [
    'targets[0].password_env: names PG_UNSET_PASSWORD, which is not set (or is empty) in the environment: set it there, or use password_file',
    'targets[1].password_env: names PG_EMPTY_PASSWORD, which is not set (or is empty) in the environment: set it there, or use password_file',
  ]);
  t.truthy(await load({ configFile: file, env: { PG_UNSET_PASSWORD: 'y', PG_EMPTY_PASSWORD: 'z', PG_SET_PASSWORD: 'x' } }));
});

test('an empty password_file is refused', async (t) => {
  const empty = await writeTemp(t, 'empty.pass', '\n');
  const file = await writeTemp(t, 'h.yml', `collector:\n  db:\n    targets:\n      - {name: a, driver: postgres, password_file: ${empty}}\n`);
  t.deepEqual(await problems(load({ configFile: file })), [
    `${file}:4:37: collector.db.targets[0].password_file: ${empty} is empty (the password is its first line)`,
  ]);
});

test('targets as JSON in the env var or the flag; bad JSON or a bad target names the variable', async (t) => {
  const json = JSON.stringify([{ name: 'main', driver: 'postgres', host: 'db1' }]);
  const fromEnv = await load({ env: { HARBINGER_COLLECTOR_DB_TARGETS: json } });
  t.is((fromEnv.collector.db!.options.targets as Array<{ host: string }>)[0]!.host, 'db1');
  const fromFlag = await load({ flags: { 'collector.db.targets': json } });
  t.is((fromFlag.collector.db!.options.targets as Array<{ name: string }>)[0]!.name, 'main');

  const bad = await problems(load({ env: { HARBINGER_COLLECTOR_DB_TARGETS: '[{"name": "x",' } }));
  t.is(bad.length, 1);
  t.regex(bad[0]!, /^env HARBINGER_COLLECTOR_DB_TARGETS: collector\.db\.targets: is not valid JSON/);
  const wrong = await problems(load({ flags: { 'collector.db.targets': '[{"name": "x", "driver": "db2"}]' } }));
  t.deepEqual(wrong, ['flag --collector.db.targets: collector.db.targets[0].driver: must be one of: "postgres", "mysql", got "db2"']);
});

test('without targets the db collector is not scheduled: no status, no /health entry; with one it runs', async (t) => {
  const { Scheduler } = await import('../../../src/scheduler.js');
  const { State } = await import('../../../src/state.js');
  const { captureLogger } = await import('../../helpers/logger.js');
  const { dbCollector } = await import('../../../src/collectors/db/index.js');
  const run = async (config: Awaited<ReturnType<typeof load>>) => {
    const state = new State();
    const scheduler = new Scheduler([dbCollector], config, { state, logger: captureLogger().logger });
    scheduler.start();
    await new Promise((r) => setTimeout(r, 300));
    await scheduler.stop();
    return state;
  };
  const idle = await run(await load({}));
  t.false(idle.status('db').enabled);
  t.is(idle.reading('db'), undefined);
  const busy = await run(await load({ env: { HARBINGER_COLLECTOR_DB_TARGETS: '[{"name":"x","driver":"postgres","host":"127.0.0.1","port":1}]' } }));
  t.true(busy.status('db').enabled);
  t.is(busy.reading<{ targets: Array<{ up: boolean }> }>('db')?.targets[0]?.up, false);
});
