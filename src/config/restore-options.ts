import { z } from 'zod';
import { S3OptionsSchema, s3OptionSources } from '../store/open-store.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources } from '../snapshot/protection.js';
import type { OptionSource } from './resolve.js';

export const RestoreOptionsSchema = z
  .object({
    from: z.string().min(1, 'required: the snapshot store URL'),
    snapshot: z.string().min(1, 'required: the snapshot id to restore (see vault-ops snapshot list)'),
    safetySnapshot: z.boolean().default(true),
    identityFile: z.string().min(1).optional(),
    verifyKey: z.string().min(1).optional(),
    restoreTimeoutSeconds: z.number().positive().max(24 * 3600).default(600),
  })
  // The safety snapshot is protected like any other (encryption, signature, object lock).
  .and(SnapshotProtectionOptionsSchema)
  .and(S3OptionsSchema);
export type RestoreOptions = z.output<typeof RestoreOptionsSchema>;

/** `--yes` and `--force` are deliberately absent: only the command line may give them. */
export const restoreOptionSources: readonly OptionSource[] = [
  { key: 'from', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  { key: 'snapshot' },
  { key: 'safetySnapshot' },
  { key: 'identityFile', env: ['VAULT_OPS_IDENTITY_FILE'] },
  { key: 'verifyKey', env: ['VAULT_OPS_VERIFY_KEY'] },
  { key: 'restoreTimeoutSeconds', env: ['VAULT_OPS_RESTORE_TIMEOUT_SECONDS'], fromEnv: 'number' },
  ...snapshotProtectionOptionSources,
  ...s3OptionSources,
];
