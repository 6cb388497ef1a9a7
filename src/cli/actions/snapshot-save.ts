import { resolve } from 'node:path';
import { SnapshotSaveOptionsSchema, snapshotSaveOptionSources } from '../../options/snapshot.js';
import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import { logProgress, ttyProgress, type ProgressReporter } from '../../observability/progress.js';
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
import { saveSnapshotToStores } from '../../snapshot/save.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import { flavourName } from '../../vault/flavour.js';
import { pruneSnapshots, type PruneReport } from '../../repository/prune.js';
import { validateRetentionPolicy } from '../../repository/retention.js';
import { readSealStatus } from '../../vault/sys.js';
import { abortOnSignals } from '../signals.js';
import { openCommandStore } from '../command-store.js';
import { checkStoreNames, parseStoreTarget } from '../store-target.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { formatBytes, printJson, printLines, table } from '../output.js';
import { renderPrune, retentionPolicy } from './snapshot-prune.js';

function progressFor(ctx: CommandContext): ProgressReporter {
  if (ctx.options.output === 'text' && ctx.terminal.stderrIsTTY) return ttyProgress(ctx.terminal.stderr);
  return logProgress(ctx.logger);
}

/** `snapshot save`: stream a snapshot from the leader to every store at once, optionally prune after. */
export async function runSnapshotSave(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotSaveOptionsSchema, snapshotSaveOptionSources, flags);
  const policy = retentionPolicy(o);
  if (o.prune) validateRetentionPolicy(policy);
  checkStoreNames(o.to.map(parseStoreTarget));
  const metrics = await jobMetrics(
    o,
    async () => new (await import('../../snapshot/snapshot-metrics.js')).SnapshotMetrics(),
  );
  const stores: SnapshotRepository[] = [];
  try {
    // A save that cannot even start (a store or Vault unreachable, login refused, bad key file) is
    // a failed save for the metrics too: alerts on failures_total must not miss an outage.
    const started = async () => {
      for (const url of o.to) stores.push(await openCommandStore(ctx, url, o, 'write'));
      const protection = await resolveSnapshotProtection(o, stores);
      return { protection, vault: await ctx.authenticatedVault() };
    };
    const { protection, vault } = await started().catch(async (err: unknown) => {
      const at = new Date();
      for (const url of o.to) metrics?.failed(isVaultOpsError(err) ? err.code : 'internal', at, storeLabel(url));
      await publishJobMetrics(metrics, o, ctx.logger);
      throw err;
    });
    if (metrics && !o.vaultClusterName) {
      // The metrics' default vault_cluster, known even when the save then fails (the manifest says it too).
      metrics.clusterName ??= (await readSealStatus(vault).catch(() => undefined))?.cluster_name;
    }
    // SIGTERM/SIGINT abort the stream: every store removes its partial object at once.
    const interrupt = abortOnSignals();
    const result = await saveSnapshotToStores(
      {
        vault,
        repositories: stores,
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

    // Retention applies to each store that got the snapshot, on its own catalogue.
    const pruned = new Map<string, PruneReport>();
    const pruneFailures: string[] = [];
    if (o.prune) {
      for (const [i, d] of result.destinations.entries()) {
        if (!d.ok) continue;
        try {
          pruned.set(
            d.store,
            await pruneSnapshots(
              stores[i]!,
              { policy, dryRun: false, incompleteGraceMs: o.incompleteGraceHours * 3_600_000, now: new Date() },
              ctx.logger,
            ),
          );
        } catch (err) {
          pruneFailures.push(`${d.store} (${(err as Error).message})`);
        }
      }
    }
    const stored = result.destinations.filter((d) => d.ok);
    const failed = result.destinations.filter((d) => !d.ok);
    const m = stored[0]!.manifest;
    if (ctx.options.output === 'json')
      printJson(ctx.stdout, {
        ...m,
        warnings: result.warnings,
        ...(pruned.has(stored[0]!.store) ? { prune: pruned.get(stored[0]!.store) } : {}),
        destinations: result.destinations.map((d) =>
          d.ok
            ? {
                store: d.store,
                stored: true,
                archiveKey: d.manifest.archive.key,
                manifestKey: d.manifestKey,
                ...(pruned.has(d.store) ? { prune: pruned.get(d.store) } : {}),
              }
            : { store: d.store, stored: false, error: d.error.message },
        ),
      });
    else {
      printLines(ctx.stdout, [
        `Snapshot ${m.id} stored in ${stored.map((d) => d.store).join(', ')}`,
        ...table([
          ...stored.map((d) => [
            '  archive',
            `${d.manifest.archive.key} (${formatBytes(d.manifest.archive.bytes)}, sha256 ` +
              `${d.manifest.archive.sha256.slice(0, 16)}…)`,
          ]),
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
          ...failed.map((d) => ['  FAILED', `${d.store}: ${d.ok ? '' : d.error.message}`]),
        ]),
        ...result.warnings.map((w) => `WARNING: ${w}`),
        ...[...pruned].flatMap(([url, report]) => [...(pruned.size > 1 ? [`${url}:`] : []), ...renderPrune(report)]),
      ]);
    }
    if (failed.length > 0) {
      throw new VaultOpsError(
        'store',
        `snapshot ${m.id} was not stored in ${failed
          .map((d) => `${d.store} (${d.ok ? '' : d.error.message})`)
          .join('; ')}; the copies in ${stored.map((d) => d.store).join(', ')} are complete: fix that store and ` +
          `catch up with 'vault-ops snapshot copy --missing'`,
      );
    }
    if (pruneFailures.length > 0) {
      throw new VaultOpsError('store', `pruning failed in ${pruneFailures.join('; ')}: the snapshot itself is stored`);
    }
  } finally {
    await Promise.allSettled(stores.map((s) => s.close()));
  }
}

/** The store label of a URL before its store is open (a named store's name dropped). */
function storeLabel(text: string): string {
  const { url } = parseStoreTarget(text);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `file://${resolve(url)}`;
}
