import { z } from 'zod';
import {
  identityFileOption,
  restoreTimeoutOption,
  scratchPortOption,
  sealConfigOption,
  unsealKeysFileOption,
  vaultBinaryOption,
} from './shared.js';
import { MetricsOptionsSchema, metricsOptions } from './metrics.js';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { fromStoreOption } from './snapshot.js';
import { signingKeyOption } from './snapshot-protection.js';

const verifyOwnOptions = [
  fromStoreOption,
  {
    key: 'snapshot',
    flag: '--snapshot <id>',
    help:
      'snapshot id, latest (default), oldest, or unverified: the newest snapshot without a passing drill, ' +
      "restores' safety snapshots skipped (exit 0 with nothing to do when every snapshot has one)",
    env: ['VAULT_OPS_VERIFY_SNAPSHOT'],
    type: z.string().min(1).default('latest'),
  },
  // `mode` and its acknowledgement have no environment variable, and a job file may not set them:
  // an unsealed drill runs the restored copy live (see checkUnsealedModeRequest).
  {
    key: 'mode',
    flag: '--mode <mode>',
    help:
      'recovery (default: never acts on the world) or unsealed (runs the copy live; command line only, needs ' +
      'network isolation and --i-understand-unsealed-runs-live)',
    type: z.enum(['recovery', 'unsealed']).default('recovery'),
    jobFile: false,
  },
  {
    key: 'iUnderstandUnsealedRunsLive',
    flag: '--i-understand-unsealed-runs-live',
    help: 'acknowledge that --mode unsealed runs the restored copy live',
    type: z.boolean().default(false),
    jobFile: false,
  },
  vaultBinaryOption,

  unsealKeysFileOption,

  identityFileOption,
  signingKeyOption(),
  {
    key: 'verifyTokenFile',
    flag: '--verify-token-file <file>',
    help: 'a token of the source cluster (--mode unsealed)',
    env: ['VAULT_OPS_VERIFY_TOKEN_FILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'checkSecret',
    flag: '--check-secret <mount/path>',
    help: 'a secret that must be readable (--mode unsealed; repeatable)',
    env: ['VAULT_OPS_CHECK_SECRETS'],
    parse: 'list',
    type: z.array(z.string().regex(/^[^/]+\/.+$/, 'use MOUNT/PATH')).default([]),
  },
  scratchPortOption,

  sealConfigOption,

  { ...restoreTimeoutOption, help: 'how long a restore may take to apply (default 600)' },
] as const satisfies readonly OptionSpec[];

/** `verify`, in `--help` order. */
export const verifyOptions = [
  ...verifyOwnOptions,
  ...storeOptions,
  ...metricsOptions,
] as const satisfies readonly OptionSpec[];

export const VerifyOptionsSchema = schemaOf(verifyOwnOptions)
  .and(StoreOptionsSchema)
  .and(MetricsOptionsSchema)
  .superRefine((o, ctx) => {
    if (o.mode === 'unsealed' && !o.verifyTokenFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['verifyTokenFile'],
        message: 'required with --mode unsealed (a token of the source cluster)',
      });
    }
    if (o.mode === 'recovery' && o.checkSecret.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['checkSecret'],
        message: 'only with --mode unsealed (recovery mode reads storage, not the secrets API)',
      });
    }
  });
export type VerifyOptions = z.output<typeof VerifyOptionsSchema>;
export const verifyOptionSources = sourcesOf(verifyOptions);

/** Options a job file may never set (the daemon and CronJobs run only recovery drills). */
export const COMMAND_LINE_ONLY_VERIFY_OPTIONS = verifyOptions
  .filter((s) => 'jobFile' in s && s.jobFile === false)
  .map((s) => s.key);

/**
 * An unsealed drill opens the restored copy in normal mode: its expiration manager revokes leases
 * production renewed since, static roles rotate, plugins and audit devices reach out. Only an
 * operator at a command line, with both flags, may ask for it; values from anywhere else are refused.
 */
export function checkUnsealedModeRequest(
  o: VerifyOptions,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): string | undefined {
  // The variable once chose the mode: say so rather than ignore it silently.
  if (env.VAULT_OPS_VERIFY_MODE === 'unsealed') {
    return (
      'VAULT_OPS_VERIFY_MODE=unsealed is refused: --mode unsealed is accepted only as a command-line flag, ' +
      'never from the environment, a config file or a job file'
    );
  }
  if (o.mode !== 'unsealed') return undefined;
  if (flags.mode !== 'unsealed')
    return (
      '--mode unsealed is accepted only as a command-line flag, never from the environment, a config file or a ' +
      'job file'
    );
  if (flags.iUnderstandUnsealedRunsLive !== true) {
    return (
      '--mode unsealed runs the restored copy live (its expiration manager revokes leases, static roles rotate, ' +
      'plugins reach out): run it only where the scratch server has no network, and add ' +
      '--i-understand-unsealed-runs-live'
    );
  }
  return undefined;
}
