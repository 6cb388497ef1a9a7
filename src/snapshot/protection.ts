import type { KeyObject } from 'node:crypto';
import { VaultOpsError } from '../errors.js';
import type { S3Options } from '../options/s3.js';
import type { SnapshotProtectionOptions } from '../options/snapshot-protection.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { readRecipients } from './age-encryption.js';
import { readSigningKey } from '../repository/signature.js';

/**
 * How every snapshot vault-ops takes is protected: age encryption, an ed25519 manifest signature,
 * and S3 object lock (the --s3-object-lock-* options of the store). One set of options, read from
 * the same flags and environment everywhere, so that `snapshot save`, the safety snapshot of
 * `restore`, `rotate kv --snapshot-after` and `runbook rotate-root --snapshot-store` all write
 * snapshots the same way: a deployment configured to encrypt never stores a plain one by a side door.
 * The options themselves are declared in options/snapshot-protection.ts.
 */

/** What saveSnapshot needs of it (SaveSnapshotOptions' encryptTo, signingKey, objectLock). */
export interface SnapshotProtection {
  encryptTo?: string[];
  signingKey?: KeyObject;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; days: number };
}

/**
 * Read the key files once and check every store the snapshot goes to can honour the object lock
 * asked for (the same protection serves every store of a save).
 */
export async function resolveSnapshotProtection(
  o: Partial<SnapshotProtectionOptions> & Partial<S3Options>,
  stores: SnapshotRepository | readonly SnapshotRepository[],
): Promise<SnapshotProtection> {
  const recipients = await readRecipients(o.encryptTo ?? [], o.recipientsFile);
  const signingKey = o.signingKey ? await readSigningKey(o.signingKey) : undefined;
  requireObjectLock(o, stores);
  return {
    ...(recipients.length ? { encryptTo: recipients } : {}),
    ...(signingKey ? { signingKey } : {}),
    ...(o.s3ObjectLockMode && o.s3ObjectLockDays
      ? { objectLock: { mode: o.s3ObjectLockMode, days: o.s3ObjectLockDays } }
      : {}),
  };
}

/**
 * The object lock asked for (`--s3-object-lock-mode`), checked against every store that is written:
 * a store that cannot lock is refused rather than written unlocked. Undefined when none was asked for.
 */
export function requireObjectLock(
  o: Partial<S3Options>,
  stores: SnapshotRepository | readonly SnapshotRepository[],
): SnapshotProtection['objectLock'] {
  for (const store of Array.isArray(stores) ? stores : [stores]) {
    if (o.s3ObjectLockMode && !store.capabilities.objectLock) {
      throw new VaultOpsError(
        'config',
        `--s3-object-lock-mode was given but ${store.url} has no object lock: create the bucket with object lock ` +
          `enabled, or drop the flag`,
      );
    }
  }
  return o.s3ObjectLockMode && o.s3ObjectLockDays ? { mode: o.s3ObjectLockMode, days: o.s3ObjectLockDays } : undefined;
}
