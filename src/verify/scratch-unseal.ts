import { setTimeout as sleep } from 'node:timers/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { VaultClient } from '../vault/client.js';
import type { ScratchVault } from './scratch-vault.js';

/** Opening the restored copy: a recovery token in recovery mode, or the unseal keys; and the waits between. */

/** Recovery mode serves only sys/raw and the recovery-token endpoints. */
export async function generateRecoveryToken(scratch: ScratchVault, keys: string[], threshold: number): Promise<string> {
  const client = scratch.client();
  const attempt = await client.write<{ nonce: string; otp: string; otp_length: number }>(
    'sys/generate-recovery-token/attempt',
    {},
    { unauthenticated: true },
  );
  let last: { complete?: boolean; encoded_token?: string } = {};
  try {
    for (const key of keys.slice(0, Math.max(threshold, 1))) {
      last = await client.write(
        'sys/generate-recovery-token/update',
        { key, nonce: attempt.nonce },
        { unauthenticated: true },
      );
      if (last.complete) break;
    }
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-request') {
      throw new VaultOpsError(
        'verification',
        `the unseal keys given do not open this snapshot (${withoutRequestPrefix(err.message)}): ` +
          'use the keys of the cluster it was taken from (after a rekey, old snapshots need the old keys)',
        { cause: err },
      );
    }
    throw err;
  }
  if (!last.complete || !last.encoded_token) {
    throw new VaultOpsError(
      'verification',
      `recovery token generation did not complete with ${keys.length} key(s): the snapshot's threshold is ${threshold}`,
    );
  }
  const encoded = Buffer.from(last.encoded_token, 'base64');
  return Buffer.from(encoded.map((b, i) => b ^ attempt.otp.charCodeAt(i))).toString('utf8');
}

/**
 * Start the scratch server in recovery mode on the restored data and make a recovery token with
 * the source's keys: a client holding it, or a failure detail when the keys do not open the
 * snapshot. The token is registered for redaction.
 */
export async function openInRecovery(
  scratch: ScratchVault,
  keys: string[],
  manifest: SnapshotManifest,
  deps: { secrets: SecretRegistry; signal?: AbortSignal | undefined },
): Promise<VaultClient | string> {
  await scratch.start('recovery', deps.signal);
  try {
    const token = await generateRecoveryToken(scratch, keys, manifest.seal.threshold);
    deps.secrets.add(token);
    return scratch.client(token);
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'verification') return err.message;
    throw err;
  }
}

/** Unseal a normally started server with the source's keys; returns a failure detail or undefined. */
export async function unsealWithKeys(scratch: ScratchVault, keys: string[]): Promise<string | undefined> {
  const client = scratch.client();
  try {
    for (const key of keys) {
      const status = await client.write<{ sealed: boolean }>('sys/unseal', { key }, { unauthenticated: true });
      if (!status.sealed) return undefined;
    }
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-request')
      return `the unseal keys given do not open the snapshot: ${err.message}`;
    throw err;
  }
  return 'the unseal keys given do not reach the threshold or do not open the snapshot';
}

/** An auto-unseal server opens itself through its seal: wait for that; a failure detail or undefined. */
export async function waitUnsealed(scratch: ScratchVault, signal?: AbortSignal): Promise<string | undefined> {
  try {
    await waitFor(
      'the restored server to unseal through its seal',
      async () =>
        (await scratch.client().read<{ sealed: boolean }>('sys/seal-status', { unauthenticated: true })).sealed ===
        false,
      60_000,
      signal,
    );
    return undefined;
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'scratch')
      return (
        'the restored server did not unseal through the seal stanza given (--seal-config): check that it is the ' +
        "source cluster's seal and that the scratch server can reach it"
      );
    throw err;
  }
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new VaultOpsError('aborted', `restore drill interrupted while waiting for ${what}`);
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new VaultOpsError('scratch', `timed out waiting for ${what}`);
}

/** The server's own words of a 'vault-request' error, without our "Vault answered 400 to PUT …: " prefix. */
function withoutRequestPrefix(message: string): string {
  return message.replace(/^Vault answered \d+ to [^:]+: /, '');
}
