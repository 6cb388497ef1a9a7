import { fileURLToPath } from 'node:url';
import { VaultOpsError } from '../../errors.js';
import { ReportOptionsSchema, reportOptionSources, type ReportOptions } from '../../options/report.js';
import { renderFleetPage, type FleetStore } from '../../report/fleet.js';
import { writeReportFile } from '../../report/output-file.js';
import { buildReportModel, type ReportModel } from '../../report/model.js';
import { renderReportModel } from '../../report/render.js';
import { toolVersion } from '../../version.js';
import { openCommandObjectStore, openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines } from '../output.js';
import { parseStoreTarget } from '../store-target.js';

/** The model of one store: its catalogue and every drill record, read with one listing. */
async function readStore(ctx: CommandContext, from: string, o: ReportOptions, now: Date): Promise<ReportModel> {
  const store = await openCommandStore(ctx, from, o);
  try {
    // One listing: the catalogue names every drill record, its snapshot's and the leftovers.
    const catalogue = await store.catalogue();
    const [history, orphans] = await Promise.all([store.drillHistory(catalogue), store.orphanDrills(catalogue)]);
    const drills = [...[...history.values()].flat(), ...orphans];
    return buildReportModel({ storeUrl: store.url, catalogue, drills, now, toolVersion });
  } finally {
    await store.close();
  }
}

const STORE_OUT = /^(s3|az|gs):\/\//;

/**
 * Write the page: to a file (atomically), or, for `--out s3://bucket/prefix/page.html` (az://,
 * gs://), as the object `prefix/page.html` of that bucket (container), where auditors read it.
 */
async function publish(ctx: CommandContext, out: string, o: ReportOptions, page: string): Promise<{ bytes: number }> {
  if (!STORE_OUT.test(out)) return writeReportFile(out.startsWith('file://') ? fileURLToPath(out) : out, page);
  // Store keys are whole object names (the store's prefix is the repository's business): the store is
  // the bucket (container), the key everything after it.
  const m = /^((?:s3|az|gs):\/\/[^/]+)\/(.*[^/])$/.exec(out);
  if (!m) {
    throw new VaultOpsError(
      'usage',
      `--out ${out}: name the page at the end of the store URL, e.g. s3://bucket/prefix/vault-backups.html`,
    );
  }
  const [, storeUrl, key] = m as unknown as [string, string, string];
  const store = await openCommandObjectStore(ctx, storeUrl, o);
  try {
    const body = Buffer.from(page, 'utf8');
    await store.putBytes(key, body, { contentType: 'text/html; charset=utf-8', ifAbsent: false });
    return { bytes: body.length };
  } finally {
    await store.close();
  }
}

/**
 * `report`: the stores' catalogues and drill records as one HTML page for auditors. Reads the
 * stores only; the page is rendered whole in memory (it is small: one row per snapshot and drill).
 * One `--from`: the store's page. Several: one page, a table of every store worst first, then a
 * section per store; a store that cannot be read is a red row, the page is still written, and the
 * run then fails naming it.
 */
export async function runReport(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, ReportOptionsSchema, reportOptionSources, flags);
  const now = new Date();
  if (o.from.length === 1) {
    const model = await readStore(ctx, o.from[0]!, o, now);
    const { bytes } = await publish(ctx, o.out, o, renderReportModel(model));
    const result = {
      out: o.out,
      bytes,
      generatedAt: now.toISOString(),
      snapshots: model.summary.snapshots,
      drills: model.summary.drills,
    };
    ctx.logger.info({ out: o.out, bytes }, 'report written');
    if (ctx.options.output === 'json') printJson(ctx.stdout, result);
    else {
      printLines(ctx.stdout, [
        `wrote ${o.out}: ${counted(result.snapshots, 'snapshot')}, ${counted(result.drills.total, 'restore drill')} ` +
          `(${result.drills.passed} passed, ${result.drills.failed} failed) from ${model.storeUrl}`,
      ]);
    }
    return;
  }

  const stores: FleetStore[] = await Promise.all(
    o.from.map(async (from): Promise<FleetStore> => {
      const target = parseStoreTarget(from);
      const label = target.name ?? target.url;
      try {
        const model = await readStore(ctx, from, o, now);
        return { label, storeUrl: model.storeUrl, model };
      } catch (err) {
        const error = ctx.secrets.scrub((err as Error).message.replace(/\s+/g, ' '));
        ctx.logger.warn({ store: target.url, err: error }, 'store could not be read for the report');
        return { label, storeUrl: target.url, error };
      }
    }),
  );
  const { bytes } = await publish(ctx, o.out, o, renderFleetPage(stores, now, toolVersion));
  ctx.logger.info({ out: o.out, bytes, stores: stores.length }, 'report written');
  const unreadable = stores.filter((s): s is Extract<FleetStore, { error: string }> => !('model' in s));
  if (ctx.options.output === 'json') {
    printJson(ctx.stdout, {
      out: o.out,
      bytes,
      generatedAt: now.toISOString(),
      stores: stores.map((s) =>
        'model' in s
          ? {
              name: s.label,
              store: s.storeUrl,
              readable: true,
              snapshots: s.model.summary.snapshots,
              drills: s.model.summary.drills,
              newestVerified: s.model.summary.newestVerified?.id ?? null,
            }
          : { name: s.label, store: s.storeUrl, readable: false, error: s.error },
      ),
    });
  } else {
    printLines(ctx.stdout, [
      `wrote ${o.out}: ${counted(stores.length, 'store')}, ${stores.length - unreadable.length} read` +
        (unreadable.length ? `, ${unreadable.length} unreadable (red rows)` : ''),
    ]);
  }
  if (unreadable.length > 0) {
    throw new VaultOpsError(
      'store',
      `the report was written, but ${unreadable.map((s) => `${s.label} (${s.error})`).join('; ')} could not be ` +
        'read: check those stores and their credentials',
    );
  }
}

const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
