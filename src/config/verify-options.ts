import { z } from 'zod';
import { MetricsOptionsSchema, metricsOptionSources } from '../observability/metrics.js';
import { S3OptionsSchema, s3OptionSources } from '../store/open-store.js';
import type { OptionSource } from './resolve.js';

export const VerifyOptionsSchema = z
  .object({
    from: z.string().min(1, 'required: the snapshot store URL'),
    snapshot: z.string().min(1).default('latest'),
    mode: z.enum(['recovery', 'unsealed']).default('recovery'),
    /** `--i-understand-unsealed-runs-live`: flag only (see UNSEALED_MODE_FLAGS). */
    iUnderstandUnsealedRunsLive: z.boolean().default(false),
    vaultBinary: z.string().min(1).optional(),
    unsealKeysFile: z.string().min(1, 'required: a file with the source cluster\'s unseal keys, one per line'),
    identityFile: z.string().min(1).optional(),
    verifyKey: z.string().min(1).optional(),
    verifyTokenFile: z.string().min(1).optional(),
    checkSecret: z.array(z.string().regex(/^[^/]+\/.+$/, 'use MOUNT/PATH')).default([]),
    scratchPort: z.number().int().min(1024).max(65534).optional(),
    sealConfig: z.string().min(1).optional(),
    restoreTimeoutSeconds: z.number().positive().max(24 * 3600).default(300),
  })
  .and(S3OptionsSchema)
  .and(MetricsOptionsSchema)
  .superRefine((o, ctx) => {
    if (o.mode === 'unsealed' && !o.verifyTokenFile) ctx.addIssue({ code: 'custom', path: ['verifyTokenFile'], message: 'required with --mode unsealed (a token of the source cluster)' });
    if (o.mode === 'recovery' && o.checkSecret.length) ctx.addIssue({ code: 'custom', path: ['checkSecret'], message: 'only with --mode unsealed (recovery mode reads storage, not the secrets API)' });
  });
export type VerifyOptions = z.output<typeof VerifyOptionsSchema>;

/** Options a job file or config file may never set (the daemon and CronJobs run only recovery drills). */
export const COMMAND_LINE_ONLY_VERIFY_OPTIONS = ['mode', 'iUnderstandUnsealedRunsLive'] as const;

/**
 * An unsealed drill opens the restored copy in normal mode: its expiration manager revokes leases
 * production renewed since, static roles rotate, plugins and audit devices reach out. Only an
 * operator at a command line, with both flags, may ask for it; values from anywhere else are refused.
 */
export function checkUnsealedModeRequest(o: VerifyOptions, flags: Record<string, unknown>, env: NodeJS.ProcessEnv): string | undefined {
  // The variable once chose the mode: say so rather than ignore it silently.
  if (env.VAULT_OPS_VERIFY_MODE === 'unsealed') return 'VAULT_OPS_VERIFY_MODE=unsealed is refused: --mode unsealed is accepted only as a command-line flag, never from the environment, a config file or a job file';
  if (o.mode !== 'unsealed') return undefined;
  if (flags.mode !== 'unsealed') return '--mode unsealed is accepted only as a command-line flag, never from the environment, a config file or a job file';
  if (flags.iUnderstandUnsealedRunsLive !== true) {
    return '--mode unsealed runs the restored copy live (its expiration manager revokes leases, static roles rotate, plugins reach out): run it only where the scratch server has no network, and add --i-understand-unsealed-runs-live';
  }
  return undefined;
}

export const verifyOptionSources: readonly OptionSource[] = [
  { key: 'from', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  { key: 'snapshot', env: ['VAULT_OPS_VERIFY_SNAPSHOT'] },
  // `mode` and its acknowledgement are read from the command line only: an unsealed drill runs the
  // restored copy live, which nobody should turn on through an environment, a config or a job file.
  { key: 'mode' },
  { key: 'iUnderstandUnsealedRunsLive' },
  { key: 'vaultBinary', env: ['VAULT_OPS_VAULT_BINARY'] },
  { key: 'unsealKeysFile', env: ['VAULT_OPS_UNSEAL_KEYS_FILE'] },
  { key: 'identityFile', env: ['VAULT_OPS_IDENTITY_FILE'] },
  { key: 'verifyKey', env: ['VAULT_OPS_VERIFY_KEY'] },
  { key: 'verifyTokenFile', env: ['VAULT_OPS_VERIFY_TOKEN_FILE'] },
  { key: 'checkSecret', env: ['VAULT_OPS_CHECK_SECRETS'], fromEnv: 'list' },
  { key: 'scratchPort', env: ['VAULT_OPS_SCRATCH_PORT'], fromEnv: 'number' },
  { key: 'sealConfig', env: ['VAULT_OPS_SEAL_CONFIG'] },
  { key: 'restoreTimeoutSeconds', env: ['VAULT_OPS_RESTORE_TIMEOUT_SECONDS'], fromEnv: 'number' },
  ...s3OptionSources,
  ...metricsOptionSources,
];
