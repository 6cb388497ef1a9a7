import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { AzureOptionsSchema, azureOptions } from './azure.js';
import { GcsOptionsSchema, gcsOptions } from './gcs.js';
import { S3OptionsSchema, s3Options } from './s3.js';

/**
 * The settings of every store backend, for every command that opens a store. Each backend brings
 * its own table (s3.ts, azure.ts, gcs.ts) and is listed here once, so that a new backend's flags reach
 * every command, the config file and job files together.
 */
export const storeOptions = [
  ...storeTrustOptions(),
  ...s3Options,
  ...azureOptions,
  ...gcsOptions,
] as const satisfies readonly OptionSpec[];

// A backend's schema joins with `.and(…)`, as the command schemas join their tables'.
export const StoreOptionsSchema = schemaOf(storeTrustOptions())
  .and(S3OptionsSchema)
  .and(AzureOptionsSchema)
  .and(GcsOptionsSchema);
export type StoreOptions = z.output<typeof StoreOptionsSchema>;

export const storeOptionSources = sourcesOf(storeOptions);

/**
 * `--verify-key FILE`, repeatable: the one trust setting of a store (repository/trust.ts), honoured by
 * every command that reads its catalogue. With keys, a manifest or drill record that none of them
 * signed is set apart and steers nothing; without, the store is unsigned (SECURITY.md says what that
 * does not protect against).
 */
function storeTrustOptions() {
  return [
    {
      key: 'verifyKey',
      flag: '--verify-key <file>',
      help:
        "ed25519 public key (PEM) the store's manifests and drill records must be signed by; repeatable " +
        '(VAULT_OPS_VERIFY_KEY, several separated by commas)',
      env: ['VAULT_OPS_VERIFY_KEY'],
      parse: 'list',
      type: z.preprocess(
        (v) => (typeof v === 'string' ? [v] : v),
        z.array(z.string().min(1, 'empty verify key path')).default([]),
      ),
    },
  ] as const satisfies readonly OptionSpec[];
}
