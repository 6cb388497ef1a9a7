import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

const count = z.number().int().nonnegative().max(100_000);

/** restic-forget-like keep rules, shared by `snapshot prune` and `snapshot save --prune`. */
export const retentionOptions = [
  {
    key: 'keepLast',
    flag: '--keep-last <n>',
    help: 'keep the n newest snapshots',
    env: ['VAULT_OPS_KEEP_LAST'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'keepHourly',
    flag: '--keep-hourly <n>',
    help: 'keep the newest snapshot of each of the last n hours (UTC)',
    env: ['VAULT_OPS_KEEP_HOURLY'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'keepDaily',
    flag: '--keep-daily <n>',
    help: 'keep one per day for the last n days',
    env: ['VAULT_OPS_KEEP_DAILY'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'keepWeekly',
    flag: '--keep-weekly <n>',
    help: 'keep one per ISO week for the last n weeks',
    env: ['VAULT_OPS_KEEP_WEEKLY'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'keepMonthly',
    flag: '--keep-monthly <n>',
    help: 'keep one per month for the last n months',
    env: ['VAULT_OPS_KEEP_MONTHLY'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'keepYearly',
    flag: '--keep-yearly <n>',
    help: 'keep one per year for the last n years',
    env: ['VAULT_OPS_KEEP_YEARLY'],
    parse: 'int',
    type: count.optional(),
  },
  {
    key: 'incompleteGraceHours',
    flag: '--incomplete-grace-hours <n>',
    help: 'leave incomplete leftovers younger than this alone (default 24)',
    env: ['VAULT_OPS_INCOMPLETE_GRACE_HOURS'],
    parse: 'number',
    // Incomplete uploads / orphaned archives younger than this are left alone (a save may be running).
    type: z
      .number()
      .positive()
      .max(24 * 365)
      .default(24),
  },
] as const satisfies readonly OptionSpec[];

export const RetentionOptionsSchema = schemaOf(retentionOptions);
export const retentionOptionSources = sourcesOf(retentionOptions);
