import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { VaultOpsError } from '../errors.js';
import { loginFailure } from './login-errors.js';
import { loginSource, type LoginOptions } from './login-methods.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-login-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { jwtFile: '/nonexistent' } satisfies Partial<LoginOptions>;

test('each method posts to its mount (default: the method name) with its credential, registered first', async () => {
  const registered: string[] = [];
  const deps = { register: (v: string) => registered.push(v), env: { CI_JOB_JWT: 'eyJ.ci.jwt' } };
  const jwt = await loginSource({ ...base, authMethod: 'jwt', authRole: 'ci', jwtEnv: 'CI_JOB_JWT' }, deps)();
  assert.deepEqual(jwt, { mount: 'jwt', path: 'auth/jwt/login', body: { role: 'ci', jwt: 'eyJ.ci.jwt' }, what: 'JWT' });
  const cert = await loginSource({ ...base, authMethod: 'cert', authMount: '/certs/' }, deps)();
  assert.deepEqual(cert, { mount: 'certs', path: 'auth/certs/login', body: {}, what: 'Certificate' });
  const file = join(dir, 'pw');
  await writeFile(file, ' spaced password \n', { mode: 0o600 });
  const ldap = await loginSource({ ...base, authMethod: 'ldap', username: 'a b', authPasswordFile: file }, deps)();
  assert.deepEqual(ldap, {
    mount: 'ldap',
    path: 'auth/ldap/login/a%20b',
    body: { password: ' spaced password ' },
    what: 'LDAP',
  });
  assert.deepEqual(registered, ['eyJ.ci.jwt', ' spaced password ']);
});

test('a password is asked for once, hidden, and kept for the re-logins of the run', async () => {
  const questions: string[] = [];
  const next = loginSource(
    { ...base, authMethod: 'userpass', username: 'oncall' },
    {
      register: () => undefined,
      env: {},
      askPassword: async (q) => {
        questions.push(q);
        return 'typed-secret';
      },
    },
  );
  assert.equal((await next()).body.password, 'typed-secret');
  assert.equal((await next()).body.password, 'typed-secret');
  assert.deepEqual(questions, ['Userpass password for oncall (not shown): ']);
});

test('no password file and no one to ask, an unset --jwt-env variable: usage and config errors', async () => {
  const noTerminal = loginSource(
    { ...base, authMethod: 'ldap', username: 'a' },
    { register: () => undefined, env: {} },
  );
  await assert.rejects(noTerminal(), (err: VaultOpsError) => {
    assert.equal(err.code, 'usage');
    assert.match(err.message, /no terminal to ask on: pass --auth-password-file FILE/);
    return true;
  });
  const unset = loginSource(
    { ...base, authMethod: 'jwt', authRole: 'r', jwtEnv: 'CI_JOB_JWT' },
    { register: () => undefined, env: { CI_JOB_JWT: ' ' } },
  );
  await assert.rejects(unset(), /the environment variable CI_JOB_JWT \(--jwt-env\) is not set or empty/);
});

test("refusals: the servers' texts become what was wrong; others pass on with the generic advice", () => {
  const request = { mount: 'jwt', path: 'auth/jwt/login', body: {}, what: 'JWT' };
  const refused = (detail: string, what = 'JWT') =>
    loginFailure({ ...request, what }, new VaultOpsError('vault-request', `Vault answered 400`, { detail })).message;
  assert.match(
    refused('error validating token: invalid expiration time (exp) claim: token is expired'),
    /^JWT login to auth\/jwt failed: the JWT has expired/,
  );
  assert.match(refused('role "x" could not be found'), /the role does not exist on this auth mount/);
  assert.match(refused('failed to match all constraints for this login certificate', 'Certificate'), /not trusted/);
  assert.match(refused('invalid credentials', 'LDAP'), /bad user name or password/);
  assert.match(refused('something new'), /failed: something new; check the role, the credential and the auth mount/);
  // Kubernetes keeps its own wording of a bare refusal (the TokenReview said no).
  assert.match(refused('permission denied', 'Kubernetes'), /did not confirm the token \(TokenReview\)/);
});
