import type { Command } from 'commander';
import {
  SnapshotInspectOptionsSchema,
  SnapshotListOptionsSchema,
  SnapshotPruneOptionsSchema,
  SnapshotSaveOptionsSchema,
  snapshotInspectOptions,
  snapshotInspectOptionSources,
  snapshotListOptions,
  snapshotListOptionSources,
  snapshotPruneOptions,
  snapshotPruneOptionSources,
  snapshotSaveOptions,
  snapshotSaveOptionSources,
} from '../../options/snapshot.js';
import { addOptions } from '../../options/commander-options.js';
import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import { publishMetrics } from '../../observability/metrics.js';
import { logProgress, ttyProgress, type ProgressReporter } from '../../observability/progress.js';
import { readIdentities } from '../../snapshot/age-encryption.js';
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
import { fileTarget, inspectSnapshot, storeTarget, type InspectReport } from '../../snapshot/inspect-snapshot.js';
import { readVerifyKey } from '../../snapshot/manifest-signature.js';
import { saveSnapshot } from '../../snapshot/save.js';
import { flavourName } from '../../vault/flavour.js';
import { abortOnSignals } from '../signals.js';
import { SnapshotMetrics } from '../../snapshot/snapshot-metrics.js';
import { pruneSnapshots, type PruneReport } from '../../repository/prune.js';
import { PruneMetrics } from '../../repository/prune-metrics.js';
import { validateRetentionPolicy, type RetentionPolicy } from '../../repository/retention.js';
import type { CommandContext } from '../context.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions } from '../context.js';
import type { CommandModule } from '../command-module.js';
import { printJson, printLines, table } from '../output.js';

function progressFor(ctx: CommandContext): ProgressReporter {
  if (ctx.options.output === 'text' && ctx.terminal.stderrIsTTY) return ttyProgress(ctx.terminal.stderr);
  return logProgress(ctx.logger);
}

function retentionPolicy(o: RetentionPolicy): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const k of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const)
    if (o[k] !== undefined) policy[k] = o[k];
  return policy;
}

const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;

export const snapshotCommand: CommandModule = {
  register(program, run) {
    const snapshot = program.command('snapshot').description('Raft snapshots: save, list, inspect, prune');

    const save = snapshot
      .command('save')
      .description('take a snapshot from the leader and stream it to the store, checked on the way');
    addOptions(save, snapshotSaveOptions);
    save.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SnapshotSaveOptionsSchema, snapshotSaveOptionSources, flags);
        const policy = retentionPolicy(o);
        if (o.prune) validateRetentionPolicy(policy);
        const metrics = new SnapshotMetrics();
        const store = await openCommandStore(ctx, o.to, o);
        try {
          // A save that cannot even start (Vault unreachable, login refused, bad key file) is a
          // failed save for the metrics too: alerts on failures_total must not miss an outage.
          const started = async () => {
            const protection = await resolveSnapshotProtection(o, store);
            return { protection, vault: await ctx.authenticatedVault() };
          };
          const { protection, vault } = await started().catch(async (err: unknown) => {
            metrics.failed(isVaultOpsError(err) ? err.code : 'internal', new Date());
            await publishMetrics(metrics, o, ctx.logger);
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
              reporter: metrics,
              signal: interrupt.signal,
            },
            {
              ...protection,
              ...(o.canary ? { canaryMount: o.canaryMount } : {}),
              allowClusterChange: o.allowClusterChange,
            },
          ).finally(() => {
            interrupt.dispose();
            return publishMetrics(metrics, o, ctx.logger);
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
                ['  archive', `${m.archive.key} (${mb(m.archive.bytes)}, sha256 ${m.archive.sha256.slice(0, 16)}…)`],
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
      }),
    );

    const list = snapshot.command('list').description('the catalogue, newest first');
    addOptions(list, snapshotListOptions);
    list.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SnapshotListOptionsSchema, snapshotListOptionSources, flags);
        const store = await openCommandStore(ctx, o.from, o);
        try {
          const catalogue = await store.catalogue();
          if (ctx.options.output === 'json') printJson(ctx.stdout, catalogue);
          else {
            const rows = [['ID', 'CREATED', 'SIZE', 'RAFT INDEX', 'CLUSTER', 'SERVER', 'FLAGS']];
            for (const m of catalogue.snapshots) {
              const flagsText = [m.encryption ? 'encrypted' : '', m.signature ? 'signed' : '', m.canary ? 'canary' : '']
                .filter(Boolean)
                .join(',');
              rows.push([
                m.id,
                m.createdAt,
                mb(m.archive.bytes),
                String(m.raft.index),
                m.cluster.name ?? '-',
                [m.cluster.flavour, m.cluster.version].filter(Boolean).join(' ') || '-',
                flagsText || '-',
              ]);
            }
            const lines = catalogue.snapshots.length ? table(rows) : [`no snapshots in ${store.url}`];
            if (catalogue.incomplete.length) {
              lines.push(
                '',
                `Incomplete (not part of the catalogue; 'snapshot prune' cleans them up after the grace period):`,
              );
              lines.push(
                ...table(catalogue.incomplete.map((i) => [`  ${i.key}`, mb(i.bytes), i.lastModified, i.reason])),
              );
            }
            printLines(ctx.stdout, lines);
          }
        } finally {
          await store.close();
        }
      }),
    );

    const inspect = snapshot
      .command('inspect')
      .description('offline integrity check and summary of an archive file or a stored snapshot (URL#ID)')
      .argument('<target>', 'archive file, or store URL#ID (ID may be latest or oldest)');
    addOptions(inspect, snapshotInspectOptions);
    inspect.action(async (targetArg: string, flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SnapshotInspectOptionsSchema, snapshotInspectOptionSources, flags);
        const identities = o.identityFile ? await readIdentities(o.identityFile) : undefined;
        identities?.forEach((i) => ctx.secrets.add(i));
        const verifyKey = o.verifyKey ? await readVerifyKey(o.verifyKey) : undefined;
        const hash = targetArg.lastIndexOf('#');
        const isStoreRef = hash > 0 && /^(s3|file):\/\//.test(targetArg);
        const store = isStoreRef ? await openCommandStore(ctx, targetArg.slice(0, hash), o) : undefined;
        try {
          const target = store
            ? await storeTarget(store, targetArg.slice(hash + 1) || 'latest')
            : await fileTarget(targetArg);
          const report = await inspectSnapshot(target, {
            depth: o.depth,
            ...(identities ? { identities } : {}),
            ...(verifyKey ? { verifyKey } : {}),
          });
          if (ctx.options.output === 'json') printJson(ctx.stdout, report);
          else printLines(ctx.stdout, renderInspect(report));
        } finally {
          await store?.close();
        }
      }),
    );

    const prune = snapshot
      .command('prune')
      .description('apply a retention policy (like restic forget); --dry-run prints the plan');
    addOptions(prune, snapshotPruneOptions);
    prune.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => {
        const o = resolveCommandOptions(ctx, SnapshotPruneOptionsSchema, snapshotPruneOptionSources, flags);
        const policy = validateRetentionPolicy(retentionPolicy(o));
        const store = await openCommandStore(ctx, o.from, o);
        const metrics = new PruneMetrics();
        try {
          const report = await pruneSnapshots(
            store,
            { policy, dryRun: o.dryRun, incompleteGraceMs: o.incompleteGraceHours * 3_600_000, now: new Date() },
            ctx.logger,
            metrics,
          ).finally(() => publishMetrics(metrics, o, ctx.logger));
          if (ctx.options.output === 'json') printJson(ctx.stdout, report);
          else printLines(ctx.stdout, renderPrune(report));
          if (
            report.remove.some((r) => r.status === 'failed') ||
            report.incomplete.some((r) => r.status === 'failed')
          ) {
            throw new VaultOpsError(
              'store',
              `some objects in ${store.url} could not be removed (see above): check the credentials' delete ` +
                `permission and run again`,
            );
          }
        } finally {
          await store.close();
        }
      }),
    );
  },
};

function renderPrune(r: PruneReport): string[] {
  const lines = [r.dryRun ? 'Prune plan (dry run, nothing deleted):' : 'Prune:'];
  lines.push(...table(r.keep.map((k) => [`  keep`, k.id, k.reasons.join(',')])));
  lines.push(
    ...table(r.remove.map((x) => [`  ${x.status === 'planned' ? 'remove' : x.status}`, x.id, x.detail ?? ''])),
  );
  lines.push(...table(r.incomplete.map((x) => [`  incomplete ${x.status}`, x.key, x.reason])));
  lines.push(
    `  ${r.keep.length} kept, ${r.remove.filter((x) => x.status === 'removed' || x.status === 'planned').length} ` +
      `${r.dryRun ? 'to remove' : 'removed'}, ${r.remove.filter((x) => x.status === 'locked').length} locked`,
  );
  lines.push(...r.warnings.map((w) => `WARNING: ${w}`));
  return lines;
}

function renderInspect(r: InspectReport): string[] {
  const lines = [`${r.source}: OK${r.contentsChecked ? '' : ' (partially checked)'}`];
  lines.push(
    ...table([
      ['  id', r.id ?? '-'],
      ['  bytes', `${r.bytes} (${mb(r.bytes)})`],
      ['  sha256', r.sha256],
      ['  encrypted', r.encrypted ? 'yes (age)' : 'no'],
      ...(r.manifest ? [['  manifest', `sha256 and size match; signature ${r.manifest.signature}`]] : []),
      ...(r.meta
        ? [
            [
              '  raft',
              `index ${r.meta.index}, term ${r.meta.term}, snapshot version ${r.meta.version}, state ${r.meta.size} ` +
                `bytes, ${r.entryCount} keys`,
            ],
          ]
        : []),
    ]),
  );
  if (r.keyCounts) {
    lines.push('', '  Key counts by prefix:');
    const rows = Object.entries(r.keyCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [`    ${k}`, String(v)]);
    lines.push(...table(rows));
  }
  for (const n of r.notChecked) lines.push(`  not checked: ${n}`);
  return lines;
}
