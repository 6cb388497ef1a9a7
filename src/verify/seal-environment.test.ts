import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sealConfigSecrets, sealEnvironment } from './seal-environment.js';

test('the scratch server gets the seal variables by allowlist, nothing else', () => {
  const env = {
    PATH: '/usr/bin',
    HOME: '/root',
    VAULT_TOKEN: 'hvs.production-token',
    VAULT_ADDR: 'https://vault:8200',
    BAO_TOKEN: 'x',
    VAULT_OPS_S3_ENDPOINT: 'https://s3',
    AWS_REGION: 'eu-west-1',
    AWS_ROLE_ARN: 'arn:aws:iam::1:role/verify',
    AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
    AZURE_CLIENT_ID: 'id',
    AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
    GOOGLE_APPLICATION_CREDENTIALS: '/var/run/gcp/key.json',
    GOOGLE_SOMETHING_ELSE: 'no',
    VAULT_SEAL_TYPE: 'awskms',
    VAULT_AWSKMS_SEAL_KEY_ID: 'alias/vault',
    BAO_GCPCKMS_SEAL_KEY_RING: 'ring',
    VAULT_AZUREKEYVAULT_VAULT_NAME: 'kv',
    DATABASE_URL: 'postgres://u:p@db/x',
  };
  assert.deepEqual(Object.keys(sealEnvironment(env)).sort(), [
    'AWS_REGION',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
    'AZURE_CLIENT_ID',
    'AZURE_FEDERATED_TOKEN_FILE',
    'BAO_GCPCKMS_SEAL_KEY_RING',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'VAULT_AWSKMS_SEAL_KEY_ID',
    'VAULT_AZUREKEYVAULT_VAULT_NAME',
    'VAULT_SEAL_TYPE',
  ]);
});

test("a seal gets its own provider's credentials only: the store's keys stay out", () => {
  const env = {
    AWS_ACCESS_KEY_ID: 'AKIASTORE',
    AWS_SECRET_ACCESS_KEY: 'store-secret',
    AZURE_STORAGE_KEY: 'azure-store-key',
    AZURE_STORAGE_ACCOUNT: 'acct',
    AZURE_CLIENT_ID: 'kv-client',
    GOOGLE_APPLICATION_CREDENTIALS: '/gcs.json',
    VAULT_TRANSIT_SEAL_TOKEN: 'transit-token',
  };
  assert.deepEqual(Object.keys(sealEnvironment(env, 'seal "transit" {\n  address = "https://kms"\n}')), [
    'VAULT_TRANSIT_SEAL_TOKEN',
  ]);
  assert.deepEqual(Object.keys(sealEnvironment(env, 'seal "awskms" {\n}')).sort(), [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'VAULT_TRANSIT_SEAL_TOKEN',
  ]);
  assert.deepEqual(Object.keys(sealEnvironment(env, 'seal "azurekeyvault" {\n}')).sort(), [
    'AZURE_CLIENT_ID',
    'VAULT_TRANSIT_SEAL_TOKEN',
  ]);
  assert.ok(!('AZURE_STORAGE_KEY' in sealEnvironment(env)), 'never the Azure store key, whatever the seal');
});

test('credential values of a seal stanza are found for the log scrubber; names and addresses are not', () => {
  const hcl = `seal "transit" {
  address         = "https://kms:8200"
  token           = "s.transit-token-value"
  key_name        = "autounseal"
  mount_path      = "transit/"
}
seal "azurekeyvault" {
  tenant_id     = "46646709-b63e-4747-be42-516edeaf1e14"
  client_secret = "DUJDS3..."
  vault_name    = "hc-vault"
}
seal "static" {
  current_key_id = "k1"
  current_key    = "file:///etc/bao/unseal.key"
}`;
  assert.deepEqual(sealConfigSecrets(hcl), ['s.transit-token-value', 'DUJDS3...', 'file:///etc/bao/unseal.key']);
});
