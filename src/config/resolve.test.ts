import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VaultOpsError } from '../errors.js';
import { GlobalOptionsSchema, globalOptionSources } from '../options/global.js';
import { checkFileKeys, flagName, resolveOptions } from './resolve.js';

const resolve = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}, file: Record<string, unknown> = {}) =>
  resolveOptions(GlobalOptionsSchema, globalOptionSources, { flags, env, file });

test('precedence: flags > env > file > defaults', () => {
  assert.equal(resolve({}).vaultAddr, 'https://127.0.0.1:8200');
  assert.equal(resolve({}, {}, { vaultAddr: 'https://file:8200' }).vaultAddr, 'https://file:8200');
  assert.equal(
    resolve({}, { VAULT_ADDR: 'https://env:8200' }, { vaultAddr: 'https://file:8200' }).vaultAddr,
    'https://env:8200',
  );
  assert.equal(
    resolve({ vaultAddr: 'https://flag:8200' }, { VAULT_ADDR: 'https://env:8200' }).vaultAddr,
    'https://flag:8200',
  );
});

test('BAO_ADDR is read when VAULT_ADDR is not set; VAULT_ADDR wins over it', () => {
  assert.equal(resolve({}, { BAO_ADDR: 'https://bao:8200' }).vaultAddr, 'https://bao:8200');
  assert.equal(resolve({}, { BAO_ADDR: 'https://bao:8200', VAULT_ADDR: 'https://v:8200' }).vaultAddr, 'https://v:8200');
});

test('empty environment variables count as unset', () => {
  assert.equal(resolve({}, { VAULT_ADDR: '' }).vaultAddr, 'https://127.0.0.1:8200');
});

test('booleans and numbers from the environment', () => {
  const o = resolve({}, { VAULT_OPS_ALLOW_INSECURE_HTTP: 'true', VAULT_OPS_REQUEST_TIMEOUT_SECONDS: '5' });
  assert.equal(o.allowInsecureHttp, true);
  assert.equal(o.requestTimeoutSeconds, 5);
});

test('every problem is reported in one line naming field and source', () => {
  try {
    resolve({ output: 'yaml', authMethod: 'approle' }, { VAULT_ADDR: 'not a url' });
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof VaultOpsError);
    assert.equal(err.code, 'config');
    assert.equal(err.exitCode, 2);
    assert.ok(!err.message.includes('\n'));
    assert.match(err.message, /--vault-addr \(from VAULT_ADDR\): must be a URL/);
    assert.match(err.message, /--output must be one of text, json/);
    assert.match(err.message, /--role-id: required with --auth-method approle/);
    assert.match(err.message, /--secret-id-file/);
    assert.doesNotMatch(err.message, /Invalid input|expected|received/);
  }
});

test('kubernetes needs a role; the JWT file has the in-cluster default', () => {
  assert.throws(() => resolve({ authMethod: 'kubernetes' }), /--auth-role: required with --auth-method kubernetes/);
  const o = resolve({ authMethod: 'kubernetes', authRole: 'ops' });
  assert.equal(o.jwtFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
});

test('jwt needs a role; cert a client certificate and key; ldap and userpass a user name (#27)', () => {
  assert.throws(() => resolve({ authMethod: 'jwt' }), /--auth-role: required with --auth-method jwt/);
  assert.throws(() => resolve({ authMethod: 'cert' }), /--client-cert: required with --auth-method cert/);
  assert.throws(() => resolve({ clientCert: 'c.pem' }), /--client-key: --client-cert and --client-key go together/);
  assert.throws(() => resolve({ authMethod: 'userpass' }), /--username: required with --auth-method userpass/);
  assert.throws(() => resolve({ authMethod: 'token', jwtEnv: 'CI_JWT' }), /--jwt-env: only with --auth-method jwt/);
  assert.throws(() => resolve({ jwtEnv: 'not a name', authMethod: 'jwt', authRole: 'r' }), /an environment variable/);
  assert.throws(
    () => resolve({ authMethod: 'jwt', authRole: 'r', authPasswordFile: 'p' }),
    /--auth-password-file: only with --auth-method ldap\|userpass/,
  );
  const o = resolve(
    {},
    { VAULT_OPS_AUTH_METHOD: 'ldap', VAULT_OPS_USERNAME: 'alice', VAULT_CLIENT_CERT: 'c' },
    {
      clientKey: 'k',
    },
  );
  assert.deepEqual([o.authMethod, o.username, o.clientCert, o.clientKey], ['ldap', 'alice', 'c', 'k']);
});

test('config files may hold only known keys', () => {
  assert.throws(
    () => checkFileKeys({ vaultAddr: 'x', vaultAdress: 'y' }, new Set(['vaultAddr']), 'c.yaml'),
    /c\.yaml: unknown key vaultAdress/,
  );
  checkFileKeys({ vaultAddr: 'x' }, new Set(['vaultAddr']), 'c.yaml');
});

test('flag names from keys', () => {
  assert.equal(flagName('vaultAddr'), '--vault-addr');
  assert.equal(flagName('s3ForcePathStyle'), '--s3-force-path-style');
});
