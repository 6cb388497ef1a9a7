import { z } from 'zod';
import { canaryMountOption, identityFileOption, storeUrl } from './shared.js';
import { MetricsOptionsSchema, metricsOptions } from './metrics.js';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { RetentionOptionsSchema, retentionOptions } from './retention.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptions } from './snapshot-protection.js';

/** The KV v1 mount the restore-drill canary is written to (snapshot/canary.ts). */

/**
 * A list of store URLs (`--to A --to B`, `VAULT_OPS_SNAPSHOT_STORE=A,B`, a YAML list or one
 * string in a config or job file): at least one, no store twice (the same snapshot id cannot be
 * created twice in one place).
 */
export function storeList(required: string) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? [v] : (v ?? [])),
    z
      .array(z.string().min(1, 'empty store URL'))
      .min(1, required)
      .refine((urls) => new Set(urls).size === urls.length, 'a store is named twice'),
  );
}

/** `--from URL`: the store a command reads (list, prune, verify, restore). */
export const fromStoreOption = {
  key: 'from',
  example: 's3://bucket/prefix or /var/backups/vault',
  flag: '--from <url>',
  help: 'store URL (VAULT_OPS_SNAPSHOT_STORE)',
  env: ['VAULT_OPS_SNAPSHOT_STORE'],
  type: storeUrl,
} as const satisfies OptionSpec;

const snapshotSaveOwnOptions = [
  {
    key: 'to',
    example: 's3://bucket/prefix or /var/backups/vault',
    flag: '--to <url>',
    help:
      'store: s3://bucket/prefix, az://container/prefix, gs://bucket/prefix, file:///dir or a path; ' +
      'repeatable, every store gets the snapshot (VAULT_OPS_SNAPSHOT_STORE, several separated by commas)',
    env: ['VAULT_OPS_SNAPSHOT_STORE'],
    parse: 'list',
    type: storeList(
      'required: where to store the snapshot (s3://bucket/prefix, az://…, gs://…, file:///dir or a path)',
    ),
  },
  {
    key: 'canary',
    flag: '--canary',
    help: 'write the restore-drill canary just before the snapshot',
    env: ['VAULT_OPS_CANARY'],
    type: z.boolean().default(false),
  },
  canaryMountOption,
  {
    key: 'allowClusterChange',
    flag: '--allow-cluster-change',
    help: 'accept a cluster id that differs from the newest snapshot in the store',
    env: ['VAULT_OPS_ALLOW_CLUSTER_CHANGE'],
    type: z.boolean().default(false),
  },
  {
    key: 'prune',
    flag: '--prune',
    help: 'apply the --keep-* retention after a successful save',
    env: ['VAULT_OPS_PRUNE'],
    type: z.boolean().default(false),
  },
] as const satisfies readonly OptionSpec[];

/** `snapshot save`, in `--help` order. */
export const snapshotSaveOptions = [
  ...snapshotSaveOwnOptions,
  ...snapshotProtectionOptions,
  ...storeOptions,
  ...retentionOptions,
  ...metricsOptions,
] as const satisfies readonly OptionSpec[];

export const SnapshotSaveOptionsSchema = schemaOf(snapshotSaveOwnOptions)
  .and(SnapshotProtectionOptionsSchema)
  .and(StoreOptionsSchema)
  .and(RetentionOptionsSchema)
  .and(MetricsOptionsSchema);
export type SnapshotSaveOptions = z.output<typeof SnapshotSaveOptionsSchema>;
export const snapshotSaveOptionSources = sourcesOf(snapshotSaveOptions);

const snapshotListOwnOptions = [
  fromStoreOption,
  {
    key: 'unverified',
    flag: '--unverified',
    help: 'only snapshots without a passing restore drill (never drilled, or every drill failed)',
    type: z.boolean().default(false),
    from: 'command-line',
  },
] as const satisfies readonly OptionSpec[];

export const snapshotListOptions = [
  ...snapshotListOwnOptions,
  ...storeOptions,
] as const satisfies readonly OptionSpec[];
export const SnapshotListOptionsSchema = schemaOf(snapshotListOwnOptions).and(StoreOptionsSchema);
export const snapshotListOptionSources = sourcesOf(snapshotListOptions);

const snapshotPruneOwnOptions = [
  fromStoreOption,
  {
    key: 'dryRun',
    flag: '--dry-run',
    help: 'print the plan, delete nothing',
    env: ['VAULT_OPS_DRY_RUN'],
    type: z.boolean().default(false),
  },
  {
    key: 'force',
    flag: '--force',
    help: 'lift the per-run cap: let this run prune the store down to a single snapshot',
    type: z.boolean().default(false),
    from: 'command-line',
  },
] as const satisfies readonly OptionSpec[];

export const snapshotPruneOptions = [
  ...snapshotPruneOwnOptions,
  ...storeOptions,
  ...retentionOptions,
  ...metricsOptions,
] as const satisfies readonly OptionSpec[];
export const SnapshotPruneOptionsSchema = schemaOf(snapshotPruneOwnOptions)
  .and(StoreOptionsSchema)
  .and(RetentionOptionsSchema)
  .and(MetricsOptionsSchema);
export const snapshotPruneOptionSources = sourcesOf(snapshotPruneOptions);

const snapshotInspectOwnOptions = [
  {
    key: 'depth',
    flag: '--depth <n>',
    help: 'key-count prefix depth (default 1)',
    parse: 'int',
    type: z.number().int().min(1).max(16).default(1),
  },
  { ...identityFileOption, help: 'age identities to decrypt an encrypted archive' },
] as const satisfies readonly OptionSpec[];

export const snapshotInspectOptions = [
  ...snapshotInspectOwnOptions,
  ...storeOptions,
] as const satisfies readonly OptionSpec[];
export const SnapshotInspectOptionsSchema = schemaOf(snapshotInspectOwnOptions).and(StoreOptionsSchema);
export const snapshotInspectOptionSources = sourcesOf(snapshotInspectOptions);

const snapshotCopyOwnOptions = [
  {
    key: 'from',
    example: 's3://bucket/prefix or /var/backups/vault',
    flag: '--from <url>',
    help: 'the store to copy from (VAULT_OPS_COPY_FROM)',
    env: ['VAULT_OPS_COPY_FROM'],
    type: z.string().min(1, 'required: the store to copy from'),
  },
  {
    key: 'to',
    example: 's3://bucket-in-another-region/prefix',
    flag: '--to <url>',
    help: 'the store to copy to; repeatable (VAULT_OPS_COPY_TO, several separated by commas)',
    env: ['VAULT_OPS_COPY_TO'],
    parse: 'list',
    type: storeList('required: the store to copy to'),
  },
  {
    key: 'snapshot',
    flag: '--snapshot <id>',
    help: 'snapshot id, latest (default) or oldest',
    type: z.string().min(1).optional(),
  },
  {
    key: 'missing',
    flag: '--missing',
    help: 'copy every snapshot of --from that --to lacks, oldest first',
    type: z.boolean().default(false),
  },
] as const satisfies readonly OptionSpec[];

/** `snapshot copy`: create-only, sha256-checked copies between stores. */
export const snapshotCopyOptions = [
  ...snapshotCopyOwnOptions,
  ...storeOptions,
] as const satisfies readonly OptionSpec[];
export const SnapshotCopyOptionsSchema = schemaOf(snapshotCopyOwnOptions)
  .and(StoreOptionsSchema)
  .superRefine((o, ctx) => {
    if (o.missing && o.snapshot !== undefined)
      ctx.addIssue({ code: 'custom', path: ['missing'], message: '--missing and --snapshot exclude each other' });
    if (o.to.includes(o.from))
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'the destination is the source: name another store' });
  });
export const snapshotCopyOptionSources = sourcesOf(snapshotCopyOptions);
