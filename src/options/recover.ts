import { z } from 'zod';
import {
  identityFileOption,
  restoreTimeoutOption,
  scratchPortOption,
  sealConfigOption,
  unsealKeysFileOption,
  vaultBinaryOption,
} from './shared.js';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { MetricsOptionsSchema, metricsOptions } from './metrics.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { fromStoreOption } from './snapshot.js';

/** A KV item: `MOUNT/PATH` (the mount is found in the snapshot's mount table). */
const itemPath = z
  .string()
  .regex(/^[^/\s]+(\/[^/\s]+)*\/[^/\s]+$/, 'use MOUNT/PATH (for example secret/payments/db) or MOUNT/PREFIX/*');

/** `--path`, repeatable (recover) or once (snapshot history): the same option to both. */
const itemPathOption = {
  key: 'path',
  example: 'secret/payments/db',
  flag: '--path <mount/path>',
  help:
    'what to recover (repeatable): a KV v1 or v2 secret MOUNT/PATH, a role auth/MOUNT/role/NAME (kubernetes, ' +
    'approle) or a database static role MOUNT/static-roles/NAME (its definition, never a password)',
  parse: 'list',
  type: z.array(itemPath).default([]),
  from: 'command-line',
} as const satisfies OptionSpec;

// What to recover, and how, is command line only: a config file or the environment never picks items.
const recoverItemOptions = [
  itemPathOption,

  {
    key: 'policy',
    flag: '--policy <name>',
    help: 'an ACL policy to recover (repeatable)',
    parse: 'list',
    type: z.array(z.string().regex(/^[\w.-]+$/, 'a policy name')).default([]),
    from: 'command-line',
  },
  {
    key: 'version',
    flag: '--version <n>',
    help: "KV v2: recover this version of the snapshot's history (default: its current version)",
    parse: 'int',
    type: z.number().int().positive().optional(),
    from: 'command-line',
  },
  {
    key: 'as',
    flag: '--as <mount/path>',
    help: 'KV: write the secret here, beside the live one, instead of over it (one --path)',
    type: itemPath.optional(),
    from: 'command-line',
  },
  {
    key: 'dryRun',
    flag: '--dry-run',
    help: 'print the plan (both sides, which keys change; never a value) and write nothing',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'yes',
    flag: '--yes',
    help: 'skip the typed confirmation of the plan',
    type: z.boolean().default(false),
    from: 'command-line',
  },
] as const satisfies readonly OptionSpec[];

const recoverOwnOptions = [
  fromStoreOption,
  {
    key: 'snapshot',
    example: 'latest, or 20261127T184600Z-3f9a1c (see vault-ops snapshot history)',
    flag: '--snapshot <id>',
    help: 'the snapshot to recover from: an id, or latest',
    type: z.string().min(1, 'required: the snapshot to recover from (an id from snapshot list, or latest)'),
  },
  vaultBinaryOption,
  { ...unsealKeysFileOption, help: 'the unseal keys of the cluster the snapshot was taken from, one per line' },
  identityFileOption,
  scratchPortOption,
  sealConfigOption,
  { ...restoreTimeoutOption, help: 'how long the restore into the scratch server may take (default 600)' },
  {
    key: 'recordTo',
    flag: '--record-to <url>',
    help: 'store to write the recovery record to (who, which snapshot, which items and versions; no values)',
    env: ['VAULT_OPS_RECORD_TO'],
    type: z.string().min(1).optional(),
  },
] as const satisfies readonly OptionSpec[];

/** `recover`, in `--help` order. */
export const recoverOptions = [
  ...recoverItemOptions,
  ...recoverOwnOptions,
  ...storeOptions,
  ...metricsOptions,
] as const satisfies readonly OptionSpec[];

export const RecoverOptionsSchema = schemaOf(recoverOwnOptions).and(StoreOptionsSchema).and(MetricsOptionsSchema);
export type RecoverCliOptions = z.output<typeof RecoverOptionsSchema>;
export const recoverOptionSources = sourcesOf(recoverOptions);

/** The items and the run's decisions, from the command line alone (resolved from the flags only). */
export const RecoverItemsSchema = schemaOf(recoverItemOptions).superRefine((o, ctx) => {
  if (o.path.length === 0 && o.policy.length === 0)
    ctx.addIssue({ code: 'custom', path: ['path'], message: 'give at least one --path MOUNT/PATH or --policy NAME' });
  if (o.as !== undefined && (o.path.length !== 1 || o.policy.length > 0))
    ctx.addIssue({ code: 'custom', path: ['as'], message: 'recovers one KV secret: give exactly one --path with it' });
});
export const recoverItemSources = recoverItemOptions.map((s) => ({
  key: s.key,
  flag: s.flag,
  ...('example' in s ? { example: s.example } : {}),
}));

const snapshotHistoryOwnOptions = [
  fromStoreOption,
  {
    key: 'limit',
    flag: '--limit <n>',
    help: 'how many of the newest snapshots to read (each is restored into a scratch server; default 10)',
    parse: 'int',
    type: z.number().int().positive().max(1000).default(10),
  },
  vaultBinaryOption,
  { ...unsealKeysFileOption, help: 'the unseal keys of the cluster the snapshots were taken from, one per line' },
  identityFileOption,
  scratchPortOption,
  sealConfigOption,
  { ...restoreTimeoutOption, help: 'how long each restore into the scratch server may take (default 600)' },
] as const satisfies readonly OptionSpec[];

/** `snapshot history`, in `--help` order. */
export const snapshotHistoryOptions = [
  { ...itemPathOption, help: 'the KV secret to trace, MOUNT/PATH' },
  ...snapshotHistoryOwnOptions,
  ...storeOptions,
] as const satisfies readonly OptionSpec[];
export const SnapshotHistoryOptionsSchema = schemaOf(snapshotHistoryOwnOptions).and(StoreOptionsSchema);
export const snapshotHistoryOptionSources = sourcesOf(snapshotHistoryOptions);
/** The one `--path`, from the command line alone. */
export const SnapshotHistoryPathSchema = schemaOf([itemPathOption]).superRefine((o, ctx) => {
  if (o.path.length !== 1 || o.path[0]!.endsWith('/*'))
    ctx.addIssue({ code: 'custom', path: ['path'], message: 'give exactly one --path MOUNT/PATH (a KV secret)' });
});
export const snapshotHistoryPathSources = [{ key: 'path', flag: itemPathOption.flag, example: itemPathOption.example }];
