import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { GlobalOptionsSchema } from '../options/global.js';
import { environmentForJob, jobEnvironment } from './job-environment.js';

test("a job's environment: the daemon's, plus its resolved global options under their first variable", () => {
  const options = GlobalOptionsSchema.parse({
    vaultAddr: 'https://vault.example:8200',
    token: 's.secret',
    namespace: 'team',
  });
  const env = jobEnvironment({ PATH: '/bin', BAO_ADDR: 'https://other:8200' }, options, 'site.yaml');
  assert.deepEqual(env, {
    PATH: '/bin',
    BAO_ADDR: 'https://other:8200',
    VAULT_ADDR: 'https://vault.example:8200',
    VAULT_NAMESPACE: 'team',
    VAULT_OPS_AUTH_METHOD: 'token',
    VAULT_TOKEN: 's.secret',
    VAULT_OPS_JWT_FILE: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    VAULT_OPS_REQUEST_TIMEOUT_SECONDS: '30',
    VAULT_OPS_LOG_LEVEL: 'info',
    VAULT_OPS_OUTPUT: 'text',
    VAULT_OPS_CONFIG: resolve('site.yaml'),
  });
  assert.equal(
    jobEnvironment({}, GlobalOptionsSchema.parse({ allowInsecureHttp: true }), undefined).VAULT_OPS_ALLOW_INSECURE_HTTP,
    'true',
  );
  assert.equal(jobEnvironment({}, options, undefined).VAULT_OPS_CONFIG, undefined);
});

test('verify, prune and copy jobs get no Vault credential; the jobs that talk to Vault keep theirs', () => {
  const env = {
    PATH: '/bin',
    VAULT_ADDR: 'https://vault:8200',
    VAULT_TOKEN: 's.secret',
    BAO_TOKEN: 's.other',
    VAULT_OPS_ROLE_ID: 'role',
    VAULT_OPS_SECRET_ID_FILE: '/run/secret-id',
    VAULT_CLIENT_KEY: '/run/client.key',
    VAULT_OPS_AUTH_PASSWORD_FILE: '/run/password',
    VAULT_OPS_JWT_ENV: 'CI_JOB_JWT',
    CI_JOB_JWT: 'eyJ.a.b',
    AWS_SECRET_ACCESS_KEY: 'store',
  };
  for (const command of ['verify', 'snapshot prune', 'snapshot copy']) {
    assert.deepEqual(environmentForJob(command, env), {
      PATH: '/bin',
      VAULT_ADDR: 'https://vault:8200',
      VAULT_OPS_JWT_ENV: 'CI_JOB_JWT',
      AWS_SECRET_ACCESS_KEY: 'store',
    });
  }
  assert.deepEqual(environmentForJob('snapshot save', env), env);
  assert.deepEqual(environmentForJob('rotate kv', env), env);
});
