import { randomBytes } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';

export { DEFAULT_CANARY_MOUNT } from '../options/shared.js';
export const CANARY_PATH = 'canary';

export interface CanaryValue {
  mount: string;
  path: string;
  nonce: string;
  time: string;
}

/**
 * Write a fresh `{nonce, time}` to the canary (a KV v1 mount, so that a drill in recovery mode
 * can read it back through sys/raw) just before a snapshot; the manifest stores the nonce.
 */
export async function writeCanary(client: VaultClient, mount: string, now: Date): Promise<CanaryValue> {
  const value = { nonce: randomBytes(16).toString('hex'), time: now.toISOString() };
  try {
    await client.write(`${mount}/${CANARY_PATH}`, value);
  } catch (err) {
    if (
      isVaultOpsError(err) &&
      (err.code === 'not-found' || err.code === 'vault-permission' || err.code === 'vault-request')
    ) {
      throw new VaultOpsError(
        err.code === 'vault-permission' ? 'vault-permission' : 'config',
        `cannot write the canary to ${mount}/${CANARY_PATH} (${err.message}): create the KV v1 mount with 'vault-ops ` +
          `setup canary' and grant 'create, update' on it`,
        { cause: err },
      );
    }
    throw err;
  }
  return { mount, path: CANARY_PATH, ...value };
}
