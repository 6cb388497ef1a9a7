import { z } from 'zod';
import { schemaOf, type OptionSpec } from './option-table.js';

/** Google Cloud Storage settings shared by every command that opens a store (flags, env, config file). */
export const gcsOptions = [
  {
    key: 'gcsCredentialsFile',
    flag: '--gcs-credentials-file <file>',
    help:
      'service-account JSON key file for gs:// stores (GOOGLE_APPLICATION_CREDENTIALS); otherwise application ' +
      'default credentials (GKE workload identity)',
    env: ['VAULT_OPS_GCS_CREDENTIALS_FILE', 'GOOGLE_APPLICATION_CREDENTIALS'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'gcsEndpoint',
    flag: '--gcs-endpoint <url>',
    help: 'GCS endpoint, e.g. an emulator (VAULT_OPS_GCS_ENDPOINT, STORAGE_EMULATOR_HOST)',
    env: ['VAULT_OPS_GCS_ENDPOINT', 'STORAGE_EMULATOR_HOST'],
    type: z
      .string()
      .min(1)
      .refine((v) => /^https?:\/\/[^/]/i.test(v), { message: 'expected an http:// or https:// URL' })
      .optional(),
  },
] as const satisfies readonly OptionSpec[];

export const GcsOptionsSchema = schemaOf(gcsOptions);
export type GcsOptions = z.output<typeof GcsOptionsSchema>;
