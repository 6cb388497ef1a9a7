import { z } from 'zod';
import { MetricsOptionsSchema, metricsOptionSources } from '../observability/metrics.js';
import { S3OptionsSchema, s3OptionSources } from '../store/open-store.js';
import type { OptionSource } from './resolve.js';

export const VerifyOptionsSchema = z
  .object({
    from: z.string().min(1, 'required: the snapshot store URL'),
    snapshot: z.string().min(1).default('latest'),
    mode: z.enum(['recovery', 'unsealed']).default('recovery'),
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

export const verifyOptionSources: readonly OptionSource[] = [
  { key: 'from', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  { key: 'snapshot', env: ['VAULT_OPS_VERIFY_SNAPSHOT'] },
  { key: 'mode', env: ['VAULT_OPS_VERIFY_MODE'] },
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
