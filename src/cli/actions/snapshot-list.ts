import { SnapshotListOptionsSchema, snapshotListOptionSources } from '../../options/snapshot.js';
import { drillStatus } from '../../repository/drill-history.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { drillStatusText } from '../drill-status-text.js';
import { formatBytes, printJson, printLines, table } from '../output.js';

/**
 * `snapshot list`: the catalogue, newest first, each snapshot with its last restore drill, and the
 * incomplete objects beside it. `--unverified`: only the snapshots without a passing drill.
 */
export async function runSnapshotList(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotListOptionsSchema, snapshotListOptionSources, flags);
  const unverifiedOnly = flags.unverified === true;
  const store = await openCommandStore(ctx, o.from, o);
  try {
    const catalogue = await store.catalogue();
    const statuses = await store.drillStatuses(catalogue);
    const none = drillStatus([]);
    const snapshots = catalogue.snapshots
      .map((m) => ({ ...m, ...(statuses.get(m.id) ?? none) }))
      .filter((s) => !unverifiedOnly || s.lastPassingDrill === null);
    const setApart = (list: typeof catalogue.untrusted) => list.map(({ manifest: _manifest, ...entry }) => entry);
    if (ctx.options.output === 'json')
      printJson(ctx.stdout, {
        snapshots,
        signed: catalogue.signed,
        untrusted: setApart(catalogue.untrusted),
        anomalies: setApart(catalogue.anomalies),
        incomplete: catalogue.incomplete,
      });
    else {
      const rows = [['ID', 'CREATED', 'SIZE', 'RAFT INDEX', 'CLUSTER', 'SERVER', 'FLAGS', 'DRILL']];
      for (const m of snapshots) {
        const flagsText = [
          m.purpose === 'safety' ? 'SAFETY' : '',
          m.encryption ? 'encrypted' : '',
          m.signature ? 'signed' : '',
          m.canary ? 'canary' : '',
        ]
          .filter(Boolean)
          .join(',');
        rows.push([
          m.id,
          m.createdAt,
          formatBytes(m.archive.bytes),
          String(m.raft.index),
          m.cluster.name ?? '-',
          [m.cluster.flavour, m.cluster.version].filter(Boolean).join(' ') || '-',
          flagsText || '-',
          drillStatusText(m),
        ]);
      }
      const lines = snapshots.length
        ? table(rows)
        : [
            unverifiedOnly && catalogue.snapshots.length
              ? `every snapshot in ${store.url} has a passing restore drill`
              : `no snapshots in ${store.url}`,
          ];
      if (catalogue.untrusted.length) {
        lines.push('', 'Untrusted (not signed by a verify key: never used, copied or pruned; check who wrote them):');
        lines.push(...table(catalogue.untrusted.map((u) => [`  ${u.id}`, u.reason])));
      }
      if (catalogue.anomalies.length) {
        lines.push('', 'Anomalies (never latest, never pruned; drill or restore only by exact id, after a check):');
        lines.push(...table(catalogue.anomalies.map((a) => [`  ${a.id}`, a.reason])));
      }
      if (catalogue.incomplete.length) {
        lines.push(
          '',
          `Incomplete (not part of the catalogue; 'snapshot prune' cleans them up after the grace period):`,
        );
        lines.push(
          ...table(catalogue.incomplete.map((i) => [`  ${i.key}`, formatBytes(i.bytes), i.lastModified, i.reason])),
        );
      }
      printLines(ctx.stdout, lines);
    }
  } finally {
    await store.close();
  }
}
