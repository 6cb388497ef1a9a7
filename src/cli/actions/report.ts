import { ReportOptionsSchema, reportOptionSources } from '../../options/report.js';
import { writeReportFile } from '../../report/output-file.js';
import { buildReportModel } from '../../report/model.js';
import { renderReportModel } from '../../report/render.js';
import { toolVersion } from '../../version.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines } from '../output.js';

/**
 * `report`: the store's catalogue and drill records as one HTML page for auditors. Reads the
 * store only; the page is rendered whole in memory (it is small: one row per snapshot and drill),
 * then written atomically.
 */
export async function runReport(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, ReportOptionsSchema, reportOptionSources, flags);
  const store = await openCommandStore(ctx, o.from, o);
  try {
    // One listing: the catalogue names every drill record, its snapshot's and the leftovers.
    const catalogue = await store.catalogue();
    const [history, orphans] = await Promise.all([store.drillHistory(catalogue), store.orphanDrills(catalogue)]);
    const drills = [...[...history.values()].flat(), ...orphans];
    const now = new Date();
    const model = buildReportModel({ storeUrl: store.url, catalogue, drills, now, toolVersion });
    const { bytes } = await writeReportFile(o.out, renderReportModel(model));
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
          `(${result.drills.passed} passed, ${result.drills.failed} failed) from ${store.url}`,
      ]);
    }
  } finally {
    await store.close();
  }
}

const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
