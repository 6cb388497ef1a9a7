import type { z } from 'zod';
import { sourcesOf, type OptionSpec } from './option-table.js';
import { AzureOptionsSchema, azureOptions } from './azure.js';
import { GcsOptionsSchema, gcsOptions } from './gcs.js';
import { S3OptionsSchema, s3Options } from './s3.js';

/**
 * The settings of every store backend, for every command that opens a store. Each backend brings
 * its own table (s3.ts, azure.ts, gcs.ts) and is listed here once, so that a new backend's flags reach
 * every command, the config file and job files together.
 */
export const storeOptions = [...s3Options, ...azureOptions, ...gcsOptions] as const satisfies readonly OptionSpec[];

// A backend's schema joins with `.and(…)`, as the command schemas join their tables'.
export const StoreOptionsSchema = S3OptionsSchema.and(AzureOptionsSchema).and(GcsOptionsSchema);
export type StoreOptions = z.output<typeof StoreOptionsSchema>;

export const storeOptionSources = sourcesOf(storeOptions);
