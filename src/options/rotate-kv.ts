import { z } from 'zod';
import { stagingMountOption } from './shared.js';
import { parseDuration } from '../time/duration.js';
import { metricsOptions } from './metrics.js';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { snapshotProtectionOptions } from './snapshot-protection.js';

/** `rotate kv` (and its `status` and `clear`): the rotation's own options. */
export const rotateKvOwnOptions = [
  {
    key: 'policy',
    example: 'rotation-policy.yaml',
    flag: '--policy <file>',
    help: 'rotation policy YAML (VAULT_OPS_ROTATE_POLICY)',
    env: ['VAULT_OPS_ROTATE_POLICY'],
    type: z.string({ message: 'required: the rotation policy file (--policy FILE)' }).min(1),
  },
  {
    key: 'dryRun',
    flag: '--dry-run',
    help: 'print the plan: which secrets are due, why, and the next 3 runs of each schedule',
    type: z.boolean().default(false),
  },
  {
    key: 'force',
    flag: '--force',
    help: 'rotate the selected secrets now, due or not (also retries quarantined ones)',
    type: z.boolean().default(false),
  },
  {
    key: 'only',
    flag: '--only <mount/path>',
    help: 'select one secret of the policy (repeatable)',
    parse: 'list',
    type: z
      .array(z.string().regex(/^[^/]+\/.+/, { message: 'use MOUNT/PATH, e.g. secret/payments/stripe' }))
      .default([]),
  },
  {
    key: 'maxRotations',
    flag: '--max-rotations <n>',
    help: 'start at most N rotations in this run (circuit breaker)',
    env: ['VAULT_OPS_ROTATE_MAX_ROTATIONS'],
    parse: 'int',
    type: z.number().int().min(1).optional(),
  },
  {
    key: 'concurrency',
    flag: '--concurrency <n>',
    help: 'secrets rotated at once (default 4)',
    env: ['VAULT_OPS_ROTATE_CONCURRENCY'],
    parse: 'int',
    type: z.number().int().min(1).max(64).default(4),
  },
  stagingMountOption,
  {
    key: 'lockTtl',
    flag: '--lock-ttl <duration>',
    help: "lock expiry, extended while the run lives; a crashed run's lock is taken over after it (default 2m)",
    env: ['VAULT_OPS_ROTATE_LOCK_TTL'],
    type: z
      .string()
      .default('2m')
      .superRefine((v, ctx) => {
        try {
          if (parseDuration(v) < 1000) ctx.addIssue({ code: 'custom', message: 'at least 1s' });
        } catch {
          ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": use e.g. 2m or 30s` });
        }
      }),
  },
  {
    key: 'recordTo',
    flag: '--record-to <url>',
    help: 'snapshot store URL: append a record of each completed rotation',
    env: ['VAULT_OPS_RECORD_TO'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'snapshotAfter',
    flag: '--snapshot-after <url>',
    help: 'snapshot store URL: take a snapshot after a run that rotated anything',
    env: ['VAULT_OPS_SNAPSHOT_AFTER'],
    type: z.string().min(1).optional(),
  },
] as const satisfies readonly OptionSpec[];

export const RotateKvOptionsSchema = schemaOf(rotateKvOwnOptions);
export type RotateKvOptions = z.output<typeof RotateKvOptionsSchema>;
export const rotateKvOptionSources = sourcesOf(rotateKvOwnOptions);

/**
 * Every flag of `rotate kv`, in `--help` order: the snapshot after the run is protected like
 * snapshot save's, and the run publishes metrics. Its stores' settings (every backend's, store.ts)
 * come from the environment or the config file only.
 */
export const rotateKvOptions = [
  ...rotateKvOwnOptions,
  ...snapshotProtectionOptions,
  ...metricsOptions,
] as const satisfies readonly OptionSpec[];
