import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { resolveOptions } from '../../config/resolve.js';
import { journalParameters, RotateRootOptionsSchema, rotateRootOptionSources, withRunFlags } from './options.js';

const parse = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, file: Record<string, unknown> = {}) =>
  resolveOptions(RotateRootOptionsSchema, rotateRootOptionSources, { flags, env, file });

test('defaults: journal per mount and connection in the current directory, 24h snapshot age, no canaries', () => {
  const o = parse({ mount: '/team/db/', connection: 'pg' });
  assert.equal(o.mount, 'team/db');
  assert.equal(o.journal, resolve('vault-ops-rotate-root-team_db-pg.journal.jsonl'));
  assert.equal(o.snapshotMaxAge, 24 * 3600 * 1000);
  assert.deepEqual(o.canaryStaticRole, []);
  assert.equal(o.yes, false);
});

test('every problem is reported at once, naming each field', () => {
  assert.throws(
    () => parse({ connection: 'bad name', loginCheckAddress: 'nohost', snapshotMaxAge: 'soon' }),
    (err: Error) =>
      /needs --mount PATH/.test(err.message) &&
      /--connection: letters/.test(err.message) &&
      /--login-check-address/.test(err.message) &&
      /--snapshot-max-age: invalid duration/.test(err.message),
  );
});

test('journal parameters hold no secret, only whether a password file is used', () => {
  const o = parse({ mount: 'database', connection: 'pg', passwordFile: '/run/secrets/pw', canaryStaticRole: ['svc'] });
  const params = journalParameters(o);
  assert.deepEqual(params, {
    mount: 'database',
    connection: 'pg',
    rebootstrap: false,
    canaryStaticRoles: ['svc'],
    snapshotStore: null,
    recordTo: null,
    passwordFromFile: true,
    allowSharedRoot: false,
  });
});

test('the journal path may come from the environment or the config file', () => {
  assert.equal(
    parse({ mount: 'd', connection: 'c' }, { VAULT_OPS_RUNBOOK_JOURNAL: '/var/log/j.jsonl' }).journal,
    '/var/log/j.jsonl',
  );
  assert.equal(parse({ mount: 'd', connection: 'c' }, {}, { journal: '/srv/j.jsonl' }).journal, '/srv/j.jsonl');
});

test(
  '--yes, --resume, --dry-run and --rebootstrap come from flags only, never a config file or the ' + 'environment',
  () => {
    const fromFile = parse(
      { mount: 'd', connection: 'c' },
      {},
      { yes: true, resume: true, dryRun: true, rebootstrap: true },
    );
    assert.deepEqual(
      [fromFile.yes, fromFile.resume, fromFile.dryRun, fromFile.rebootstrap],
      [false, false, false, false],
    );
    const o = withRunFlags(fromFile, { yes: true, rebootstrap: true });
    assert.deepEqual([o.yes, o.resume, o.dryRun, o.rebootstrap], [true, false, false, true]);
  },
);

test('--db-ca-cert may come from VAULT_OPS_DB_CA_CERT or the config file; a flag wins', () => {
  assert.equal(parse({ mount: 'd', connection: 'c' }).dbCaCert, undefined);
  assert.equal(
    parse({ mount: 'd', connection: 'c' }, { VAULT_OPS_DB_CA_CERT: '/etc/pg/ca.pem' }).dbCaCert,
    '/etc/pg/ca.pem',
  );
  assert.equal(parse({ mount: 'd', connection: 'c' }, {}, { dbCaCert: '/srv/ca.pem' }).dbCaCert, '/srv/ca.pem');
  assert.equal(
    parse({ mount: 'd', connection: 'c', dbCaCert: '/flag/ca.pem' }, { VAULT_OPS_DB_CA_CERT: '/env/ca.pem' }).dbCaCert,
    '/flag/ca.pem',
  );
});
