import { z } from 'zod';
import { S3OptionsSchema, s3OptionSources } from '../store/open-store.js';
import { MetricsOptionsSchema, metricsOptionSources } from '../observability/metrics.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources } from '../snapshot/protection.js';
import type { OptionSource } from './resolve.js';

const count = z.number().int().nonnegative().max(100_000);

/** restic-forget-like keep rules, shared by `snapshot prune` and `snapshot save --prune`. */
export const RetentionOptionsSchema = z.object({
  keepLast: count.optional(),
  keepHourly: count.optional(),
  keepDaily: count.optional(),
  keepWeekly: count.optional(),
  keepMonthly: count.optional(),
  keepYearly: count.optional(),
  /** Incomplete uploads / orphaned archives younger than this are left alone (a save may be running). */
  incompleteGraceHours: z.number().positive().max(24 * 365).default(24),
});
export const retentionOptionSources: readonly OptionSource[] = [
  { key: 'keepLast', env: ['VAULT_OPS_KEEP_LAST'], fromEnv: 'number' },
  { key: 'keepHourly', env: ['VAULT_OPS_KEEP_HOURLY'], fromEnv: 'number' },
  { key: 'keepDaily', env: ['VAULT_OPS_KEEP_DAILY'], fromEnv: 'number' },
  { key: 'keepWeekly', env: ['VAULT_OPS_KEEP_WEEKLY'], fromEnv: 'number' },
  { key: 'keepMonthly', env: ['VAULT_OPS_KEEP_MONTHLY'], fromEnv: 'number' },
  { key: 'keepYearly', env: ['VAULT_OPS_KEEP_YEARLY'], fromEnv: 'number' },
  { key: 'incompleteGraceHours', env: ['VAULT_OPS_INCOMPLETE_GRACE_HOURS'], fromEnv: 'number' },
];

export const SnapshotSaveOptionsSchema = z
  .object({
    to: z.string().min(1, 'required: where to store the snapshot (s3://bucket/prefix, file:///dir or a path)'),
    canary: z.boolean().default(false),
    canaryMount: z.string().min(1).default('vault-ops-canary'),
    allowClusterChange: z.boolean().default(false),
    prune: z.boolean().default(false),
  })
  .and(SnapshotProtectionOptionsSchema)
  .and(S3OptionsSchema)
  .and(RetentionOptionsSchema)
  .and(MetricsOptionsSchema);
export type SnapshotSaveOptions = z.output<typeof SnapshotSaveOptionsSchema>;

export const snapshotSaveOptionSources: readonly OptionSource[] = [
  { key: 'to', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  ...snapshotProtectionOptionSources,
  { key: 'canary', env: ['VAULT_OPS_CANARY'], fromEnv: 'boolean' },
  { key: 'canaryMount', env: ['VAULT_OPS_CANARY_MOUNT'] },
  { key: 'allowClusterChange', env: ['VAULT_OPS_ALLOW_CLUSTER_CHANGE'], fromEnv: 'boolean' },
  { key: 'prune', env: ['VAULT_OPS_PRUNE'], fromEnv: 'boolean' },
  ...s3OptionSources,
  ...retentionOptionSources,
  ...metricsOptionSources,
];

export const SnapshotListOptionsSchema = z.object({ from: z.string().min(1, 'required: the snapshot store URL') }).and(S3OptionsSchema);
export const snapshotListOptionSources: readonly OptionSource[] = [{ key: 'from', env: ['VAULT_OPS_SNAPSHOT_STORE'] }, ...s3OptionSources];

export const SnapshotPruneOptionsSchema = z
  .object({ from: z.string().min(1, 'required: the snapshot store URL'), dryRun: z.boolean().default(false) })
  .and(S3OptionsSchema)
  .and(RetentionOptionsSchema)
  .and(MetricsOptionsSchema);
export const snapshotPruneOptionSources: readonly OptionSource[] = [
  { key: 'from', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  { key: 'dryRun', env: ['VAULT_OPS_DRY_RUN'], fromEnv: 'boolean' },
  ...s3OptionSources,
  ...retentionOptionSources,
  ...metricsOptionSources,
];

export const SnapshotInspectOptionsSchema = z
  .object({
    depth: z.number().int().min(1).max(16).default(1),
    identityFile: z.string().min(1).optional(),
    verifyKey: z.string().min(1).optional(),
  })
  .and(S3OptionsSchema);
export const snapshotInspectOptionSources: readonly OptionSource[] = [
  { key: 'depth' },
  { key: 'identityFile', env: ['VAULT_OPS_IDENTITY_FILE'] },
  { key: 'verifyKey', env: ['VAULT_OPS_VERIFY_KEY'] },
  ...s3OptionSources,
];
