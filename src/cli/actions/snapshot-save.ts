import { SnapshotSaveOptionsSchema, snapshotSaveOptionSources } from '../../options/snapshot.js';
import { isVaultOpsError } from '../../errors.js';
import { logProgress, ttyProgress, type ProgressReporter } from '../../observability/progress.js';
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
import { saveSnapshot } from '../../snapshot/save.js';
import { flavourName } from '../../vault/flavour.js';
import { pruneSnapshots, type PruneReport } from '../../repository/prune.js';
import { validateRetentionPolicy } from '../../repository/retention.js';
import { abortOnSignals } from '../signals.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { formatBytes, printJson, printLines, table } from '../output.js';
import { renderPrune, retentionPolicy } from './snapshot-prune.js';

function progressFor(ctx: CommandContext): ProgressReporter {
  if (ctx.options.output === 'text' && ctx.terminal.stderrIsTTY) return ttyProgress(ctx.terminal.stderr);
  return logProgress(ctx.logger);
}

/** `snapshot save`: stream a snapshot from the leader to the store, optionally prune after. */
export async function runSnapshotSave(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotSaveOptionsSchema, snapshotSaveOptionSources, flags);
  const policy = retentionPolicy(o);
  if (o.prune) validateRetentionPolicy(policy);
  const metrics = await jobMetrics(
    o,
    async () => new (await import('../../snapshot/snapshot-metrics.js')).SnapshotMetrics(),
  );
  const store = await openCommandStore(ctx, o.to, o, 'write');
  try {
    // A save that cannot even start (Vault unreachable, login refused, bad key file) is a
    // failed save for the metrics too: alerts on failures_total must not miss an outage.
    const started = async () => {
      const protection = await resolveSnapshotProtection(o, store);
      return { protection, vault: await ctx.authenticatedVault() };
    };
    const { protection, vault } = await started().catch(async (err: unknown) => {
      metrics?.failed(isVaultOpsError(err) ? err.code : 'internal', new Date());
      await publishJobMetrics(metrics, o, ctx.logger);
      throw err;
    });
    // SIGTERM/SIGINT abort the stream: the store removes its partial object at once.
    const interrupt = abortOnSignals();
    const result = await saveSnapshot(
      {
        vault,
        repository: store,
        logger: ctx.logger,
        progress: progressFor(ctx),
        ...(metrics ? { reporter: metrics } : {}),
        signal: interrupt.signal,
      },
      {
        ...protection,
        ...(o.canary ? { canaryMount: o.canaryMount } : {}),
        allowClusterChange: o.allowClusterChange,
      },
    ).finally(() => {
      interrupt.dispose();
      return publishJobMetrics(metrics, o, ctx.logger);
    });
    let pruned: PruneReport | undefined;
    if (o.prune) {
      pruned = await pruneSnapshots(
        store,
        { policy, dryRun: false, incompleteGraceMs: o.incompleteGraceHours * 3_600_000, now: new Date() },
        ctx.logger,
      );
    }
    if (ctx.options.output === 'json')
      printJson(ctx.stdout, {
        ...result.manifest,
        warnings: result.warnings,
        ...(pruned ? { prune: pruned } : {}),
      });
    else {
      const m = result.manifest;
      printLines(ctx.stdout, [
        `Snapshot ${m.id} stored in ${store.url}`,
        ...table([
          ['  archive', `${m.archive.key} (${formatBytes(m.archive.bytes)}, sha256 ${m.archive.sha256.slice(0, 16)}…)`],
          ['  raft', `index ${m.raft.index}, term ${m.raft.term}, ${m.raft.servers.length} server(s)`],
          [
            '  cluster',
            `${m.cluster.name ?? '-'} (${m.cluster.id ?? '-'}), ` +
              `${m.cluster.flavour ? flavourName(m.cluster.flavour) : 'Vault'} ${m.cluster.version ?? '-'}`,
          ],
          [
            '  keys',
            Object.entries(m.keyCounts)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ') || '-',
          ],
          ['  duration', `${m.durationSeconds.toFixed(1)} s`],
          ...(m.encryption ? [['  encrypted', `age, ${m.encryption.recipients.length} recipient(s)`]] : []),
          ...(m.canary ? [['  canary', `${m.canary.mount}/${m.canary.path}`]] : []),
        ]),
        ...result.warnings.map((w) => `WARNING: ${w}`),
        ...(pruned ? renderPrune(pruned) : []),
      ]);
    }
  } finally {
    await store.close();
  }
}
