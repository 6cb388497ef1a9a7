import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { fromStoreOption } from './snapshot.js';

const reportOwnOptions = [
  fromStoreOption,
  // Replacing, not refusing: the page is derived from the store and is regenerated on a schedule
  // (a cron job publishing it); the rename makes the swap atomic, so a reader never sees half a page.
  {
    key: 'out',
    example: 'vault-backups-evidence.html',
    flag: '--out <file>',
    help:
      'the HTML file to write (VAULT_OPS_REPORT_OUT); written atomically (temp file + rename, mode 0644): an ' +
      'existing file is replaced whole',
    env: ['VAULT_OPS_REPORT_OUT'],
    type: z.string().min(1, 'required: the HTML file to write (--out FILE.html)'),
  },
] as const satisfies readonly OptionSpec[];

/** `report`, in `--help` order. */
export const reportOptions = [...reportOwnOptions, ...storeOptions] as const satisfies readonly OptionSpec[];
export const ReportOptionsSchema = schemaOf(reportOwnOptions).and(StoreOptionsSchema);
export type ReportOptions = z.output<typeof ReportOptionsSchema>;
export const reportOptionSources = sourcesOf(reportOptions);
