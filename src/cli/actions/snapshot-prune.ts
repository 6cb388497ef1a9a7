import { SnapshotPruneOptionsSchema, snapshotPruneOptionSources } from '../../options/snapshot.js';
import { VaultOpsError } from '../../errors.js';
import { pruneSnapshots, type PruneReport } from '../../repository/prune.js';
import { validateRetentionPolicy, type RetentionPolicy } from '../../repository/retention.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { printJson, printLines, table } from '../output.js';

/** The retention flags that were given (snapshot save --prune shares them). */
export function retentionPolicy(o: { [K in keyof RetentionPolicy]?: number | undefined }): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const k of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const) {
    const value = o[k];
    if (value !== undefined) policy[k] = value;
  }
  return policy;
}

/** `snapshot prune`: apply the retention policy (or print the plan with --dry-run). */
export async function runSnapshotPrune(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotPruneOptionsSchema, snapshotPruneOptionSources, flags);
  const policy = validateRetentionPolicy(retentionPolicy(o));
  const store = await openCommandStore(ctx, o.from, o);
  const metrics = await jobMetrics(
    o,
    async () => new (await import('../../repository/prune-metrics.js')).PruneMetrics(store.url),
  );
  try {
    const report = await pruneSnapshots(
      store,
      {
        policy,
        dryRun: o.dryRun,
        incompleteGraceMs: o.incompleteGraceHours * 3_600_000,
        now: new Date(),
        force: flags.force === true,
      },
      ctx.logger,
      metrics,
    ).finally(() => publishJobMetrics(metrics, o, ctx.logger));
    if (ctx.options.output === 'json') printJson(ctx.stdout, report);
    else printLines(ctx.stdout, renderPrune(report));
    if (report.remove.some((r) => r.status === 'failed') || report.incomplete.some((r) => r.status === 'failed')) {
      throw new VaultOpsError(
        'store',
        `some objects in ${store.url} could not be removed (see above): check the credentials' delete ` +
          `permission and run again`,
      );
    }
  } finally {
    await store.close();
  }
}

/** The prune report as text (snapshot save --prune prints it too). */
export function renderPrune(r: PruneReport): string[] {
  const lines = [r.dryRun ? 'Prune plan (dry run, nothing deleted):' : 'Prune:'];
  // One table, so that the ids line up whatever the action's width.
  lines.push(
    ...table([
      ...r.keep.map((k) => ['  keep', k.id, k.reasons.join(',')]),
      ...r.remove.map((x) => [`  ${x.status === 'planned' ? 'remove' : x.status}`, x.id, x.detail ?? '']),
      ...r.incomplete.map((x) => [`  incomplete ${x.status}`, x.key, x.reason]),
      ...r.setApart.map((x) => [`  left alone (${x.trust})`, x.id, x.reason]),
    ]),
  );
  lines.push(
    `  ${r.keep.length} kept, ${r.remove.filter((x) => x.status === 'removed' || x.status === 'planned').length} ` +
      `${r.dryRun ? 'to remove' : 'removed'}, ${r.remove.filter((x) => x.status === 'locked').length} locked`,
  );
  lines.push(...r.warnings.map((w) => `WARNING: ${w}`));
  return lines;
}
