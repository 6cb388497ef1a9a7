import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';
import { StoreOptionsSchema, storeOptions } from './store.js';
import { fromStoreOption, storeList } from './snapshot.js';

const reportOwnOptions = [
  // Repeatable: several stores (one per cluster, `prod-eu=URL`) make one fleet page.
  {
    ...fromStoreOption,
    help:
      'store URL, NAME=URL to name it; repeatable: one page for many stores, worst first ' +
      '(VAULT_OPS_SNAPSHOT_STORE, several separated by commas)',
    parse: 'list',
    type: storeList('required: the store to report on (--from URL, repeatable: --from prod-eu=URL --from …)'),
  },
  // Replacing, not refusing: the page is derived from the store and is regenerated on a schedule
  // (a cron job publishing it); the rename makes the swap atomic, so a reader never sees half a page.
  {
    key: 'out',
    example: 'vault-backups-evidence.html',
    flag: '--out <file|url>',
    help:
      'the HTML file to write, or a store URL ending in the page name (s3://bucket/prefix/vault.html, az://…, ' +
      'gs://…) to publish it there (VAULT_OPS_REPORT_OUT); a file is written atomically (temp file + rename, ' +
      'mode 0644): an existing page is replaced whole',
    env: ['VAULT_OPS_REPORT_OUT'],
    type: z.string().min(1, 'required: the HTML file to write (--out FILE.html)'),
  },
] as const satisfies readonly OptionSpec[];

/** `report`, in `--help` order. */
export const reportOptions = [...reportOwnOptions, ...storeOptions] as const satisfies readonly OptionSpec[];
export const ReportOptionsSchema = schemaOf(reportOwnOptions).and(StoreOptionsSchema);
export type ReportOptions = z.output<typeof ReportOptionsSchema>;
export const reportOptionSources = sourcesOf(reportOptions);
