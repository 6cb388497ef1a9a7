import { z } from 'zod';
import { identityFileOption, restoreTimeoutOption } from './shared.js';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { fromStoreOption } from './snapshot.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptions } from './snapshot-protection.js';

const restoreOwnOptions = [
  fromStoreOption,
  {
    key: 'snapshot',
    example: '20261127T184600Z-3f9a1c (an id from snapshot list)',
    flag: '--snapshot <id>',
    help: 'the snapshot id to restore (an id: latest and oldest are refused)',
    type: z.string().min(1, 'required: the snapshot id to restore (see vault-ops snapshot list)'),
  },
  {
    key: 'recordsFrom',
    flag: '--records-from <url>',
    help:
      'store holding rotation records (the --record-to of rotate kv and runbook rotate-root), read besides the ' +
      'snapshot store, which is always read (repeatable; env VAULT_OPS_RECORDS_FROM, comma-separated)',
    env: ['VAULT_OPS_RECORDS_FROM'],
    parse: 'list',
    type: z.array(z.string().min(1)).default([]),
  },
  // `--force` and `--yes` are deliberately command line only.
  {
    key: 'force',
    flag: '--force',
    help: "restore even though the snapshot's keys differ from the target's (snapshot-force)",
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'yes',
    flag: '--yes',
    help: "skip the typed confirmation of the target's cluster name",
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'safetySnapshot',
    flag: '--no-safety-snapshot',
    help: 'do not snapshot the target into the store first',
    type: z.boolean().default(true),
  },
  { ...identityFileOption, help: 'age identities for an encrypted snapshot' },
  restoreTimeoutOption,
] as const satisfies readonly OptionSpec[];

/** `restore`, in `--help` order; the safety snapshot is protected like any other. */
export const restoreOptions = [
  ...restoreOwnOptions,
  ...snapshotProtectionOptions,
  ...storeOptions,
] as const satisfies readonly OptionSpec[];

export const RestoreOptionsSchema = schemaOf(restoreOwnOptions)
  .and(SnapshotProtectionOptionsSchema)
  .and(StoreOptionsSchema);
export type RestoreOptions = z.output<typeof RestoreOptionsSchema>;
export const restoreOptionSources = sourcesOf(restoreOptions);
