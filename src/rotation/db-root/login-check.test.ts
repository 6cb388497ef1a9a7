import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MysqlLoginCheck, PostgresLoginCheck, parseConnectionUrl } from './login-check.js';

test('connection URLs with templates give host, port, database and sslmode', () => {
  assert.deepEqual(
    parseConnectionUrl('postgresql://{{username}}:{{password}}@db.internal:6543/app?sslmode=disable', 5432),
    {
      host: 'db.internal',
      port: 6543,
      database: 'app',
      sslmode: 'disable',
    },
  );
  assert.deepEqual(parseConnectionUrl('postgres://{{username}}:{{password}}@127.0.0.1/postgres', 5432), {
    host: '127.0.0.1',
    port: 5432,
    database: 'postgres',
  });
  assert.deepEqual(parseConnectionUrl('host=10.0.0.5 port=5433 dbname=x user={{username}} sslmode=require', 5432), {
    host: '10.0.0.5',
    port: 5433,
    database: 'x',
    sslmode: 'require',
  });
});

test('plugins map to login checks; MySQL says "not supported yet"', async () => {
  const pgCheck = new PostgresLoginCheck();
  assert.ok(pgCheck.supports('postgresql-database-plugin'));
  assert.ok(!pgCheck.supports('mysql-database-plugin'));
  const my = new MysqlLoginCheck();
  assert.ok(my.supports('mysql-aurora-database-plugin'));
  assert.deepEqual(my.endpoint({ connection_url: '{{username}}:{{password}}@tcp(db:3307)/app' }), {
    host: 'db',
    port: 3307,
    database: 'app',
  });
  const result = await my.check();
  assert.equal(result.outcome, 'unsupported');
  assert.match(result.outcome === 'unsupported' ? result.reason : '', /not supported yet/);
});

test('a failed PostgreSQL login reports the reason without the password', async () => {
  const result = await new PostgresLoginCheck({ timeoutMs: 2_000 }).check(
    { host: '127.0.0.1', port: 1, sslmode: 'disable' },
    { username: 'u', password: 'sekrit-password' },
  );
  assert.equal(result.outcome, 'failed');
  assert.ok(!JSON.stringify(result).includes('sekrit-password'));
});
