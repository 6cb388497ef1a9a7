import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkStoreNames, parseStoreTarget, storeEnvironment, storeEnvPrefix } from './store-target.js';

test('NAME=URL names a store; plain URLs and paths stay unnamed', () => {
  assert.deepEqual(parseStoreTarget('dr=s3://bucket-dr/vault'), { name: 'dr', url: 's3://bucket-dr/vault' });
  assert.deepEqual(parseStoreTarget('s3://b/p'), { url: 's3://b/p' });
  assert.deepEqual(parseStoreTarget('/var/backups'), { url: '/var/backups' });
  assert.deepEqual(parseStoreTarget('./a=b'), { url: './a=b' });
  assert.equal(storeEnvPrefix('dr-eu'), 'VAULT_OPS_STORE_DR_EU_');
});

test('a named store sees its own variables in place of the shared ones; others see the shared ones', () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'shared',
    AWS_REGION: 'eu-west-1',
    VAULT_OPS_STORE_DR_AWS_ACCESS_KEY_ID: 'dr-key',
    VAULT_OPS_STORE_DR_AWS_REGION: 'us-east-2',
  };
  const dr = storeEnvironment({ name: 'dr', url: 's3://x' }, env);
  assert.equal(dr.env.AWS_ACCESS_KEY_ID, 'dr-key');
  assert.equal(dr.env.AWS_REGION, 'us-east-2');
  assert.deepEqual(dr.own, { AWS_ACCESS_KEY_ID: 'dr-key', AWS_REGION: 'us-east-2' });
  const plain = storeEnvironment({ url: 's3://y' }, env);
  assert.equal(plain.env.AWS_ACCESS_KEY_ID, 'shared');
  assert.throws(
    () =>
      checkStoreNames([
        { name: 'dr', url: 'a' },
        { name: 'dr', url: 'b' },
      ]),
    /two stores are named dr/,
  );
});
