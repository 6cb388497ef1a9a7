import { z } from 'zod';
import type { KvV2 } from './kv.js';
import { revokeRecordPath } from './paths.js';

/**
 * The rotation's own record of the value it left to revoke, in the staging mount at
 * `<staging>/revoke/<mount>/<path>`: which rotation, the version it wrote, the version it replaced and
 * when the grace period ends. The secret's custom_metadata says the same for people, but anyone with
 * `patch` on the metadata can change it (without being able to read the secret); only the rotation's
 * policy may write the staging mount. So the revoke hook runs only for what this record says, never for
 * what the metadata alone says: a patched `vault-ops-previous-version` cannot pick the value revoked, a
 * patched `vault-ops-revoke-after` cannot cut the grace period short, and a `vault-ops-revoke: pending`
 * nobody's rotation wrote revokes nothing.
 */
export interface RevokeRecord {
  rotationId: string;
  /** The live version the rotation wrote. */
  version: number;
  /** The version holding the value to revoke (the one the rotation replaced). */
  previousVersion: number;
  /** End of the grace period (ISO time). */
  revokeAfter: string;
  state: 'pending' | 'done';
}

const recordSchema = z.object({
  rotationId: z.string().min(1).max(200),
  version: z.number().int().positive(),
  previousVersion: z.number().int().nonnegative(),
  revokeAfter: z.iso.datetime(),
  state: z.enum(['pending', 'done']),
});

export async function writeRevokeRecord(
  kv: KvV2,
  stagingMount: string,
  secret: { mount: string; path: string },
  record: RevokeRecord,
): Promise<void> {
  await kv.writeData(stagingMount, revokeRecordPath(secret.mount, secret.path), { ...record });
}

/** The record, `undefined` when there is none; one that does not parse is reported as such, never trusted. */
export async function readRevokeRecord(
  kv: KvV2,
  stagingMount: string,
  secret: { mount: string; path: string },
): Promise<RevokeRecord | { malformed: string } | undefined> {
  const data = await kv.readData(stagingMount, revokeRecordPath(secret.mount, secret.path));
  if (!data) return undefined;
  const parsed = recordSchema.safeParse(data.data);
  if (!parsed.success) return { malformed: parsed.error.issues[0]?.path.join('.') || 'record' };
  return parsed.data;
}

/** What the metadata says the pending revoke is (from custom_metadata, for comparison only). */
export interface ClaimedRevoke {
  rotationId: string | undefined;
  version: number | undefined;
  previousVersion: number | undefined;
}

/**
 * Why the revoke the metadata claims must not run, or undefined when the record confirms it and its
 * grace period is over. `where` names the record for the message.
 */
export function revokeRecordProblem(
  record: RevokeRecord | { malformed: string } | undefined,
  claimed: ClaimedRevoke,
  now: Date,
  where: string,
): string | undefined {
  if (record === undefined)
    return (
      `no revoke record at ${where}: the pending revoke in custom_metadata was not written by a rotation of this ` +
      'vault-ops (patched by someone, or left by a version before 2026-12)'
    );
  if ('malformed' in record) return `the revoke record at ${where} is malformed (${record.malformed})`;
  if (
    record.rotationId !== claimed.rotationId ||
    record.version !== claimed.version ||
    record.previousVersion !== claimed.previousVersion
  )
    return (
      `custom_metadata (rotation ${claimed.rotationId ?? '?'}, versions ${claimed.previousVersion ?? '?'} → ` +
      `${claimed.version ?? '?'}) disagrees with the rotation's record at ${where} (rotation ${record.rotationId}, ` +
      `versions ${record.previousVersion} → ${record.version}): the metadata was tampered with`
    );
  if (record.previousVersion >= record.version)
    return `the revoke record at ${where} names version ${record.previousVersion}, not older than ${record.version}`;
  if (Date.parse(record.revokeAfter) > now.getTime())
    return (
      `the grace period ends ${record.revokeAfter} by the rotation's record at ${where}; vault-ops-revoke-after in ` +
      'custom_metadata says otherwise: the metadata was tampered with'
    );
  return undefined;
}
