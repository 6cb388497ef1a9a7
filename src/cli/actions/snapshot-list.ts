import { SnapshotListOptionsSchema, snapshotListOptionSources } from '../../options/snapshot.js';
import { drillStatus, type SnapshotDrillStatus } from '../../repository/drill-history.js';
import type { SnapshotManifest } from '../../repository/manifest.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { drillStatusText } from '../drill-status-text.js';
import { columnWidths, formatBytes, printJson, printLines, table, tableRow } from '../output.js';

/** A terminal sees rows as they come from this many snapshots on, `STREAM_WINDOW` snapshots at a time. */
const STREAM_FROM = 200;
const STREAM_WINDOW = 64;

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
    const none = drillStatus([]);
    const shown = (status: SnapshotDrillStatus) => !unverifiedOnly || status.lastPassingDrill === null;
    if (ctx.options.output === 'json') {
      const statuses = await store.drillStatuses(catalogue);
      const snapshots = catalogue.snapshots
        .map((m) => ({ ...m, ...(statuses.get(m.id) ?? none) }))
        .filter((s) => shown(s));
      const setApart = (list: typeof catalogue.untrusted) => list.map(({ manifest: _manifest, ...entry }) => entry);
      printJson(ctx.stdout, {
        snapshots,
        signed: catalogue.signed,
        untrusted: setApart(catalogue.untrusted),
        anomalies: setApart(catalogue.anomalies),
        incomplete: catalogue.incomplete,
      });
    } else {
      const header = ['ID', 'CREATED', 'SIZE', 'RAFT INDEX', 'CLUSTER', 'SERVER', 'FLAGS', 'DRILL'];
      const rowOf = (m: SnapshotManifest, status: SnapshotDrillStatus) => {
        const flagsText = [
          m.purpose === 'safety' ? 'SAFETY' : '',
          m.encryption ? 'encrypted' : '',
          m.signature ? 'signed' : '',
          m.canary ? 'canary' : '',
        ]
          .filter(Boolean)
          .join(',');
        return [
          m.id,
          m.createdAt,
          formatBytes(m.archive.bytes),
          String(m.raft.index),
          m.cluster.name ?? '-',
          [m.cluster.flavour, m.cluster.version].filter(Boolean).join(' ') || '-',
          flagsText || '-',
          drillStatusText(status),
        ];
      };
      let listed = 0;
      const lines: string[] = [];
      if (ctx.terminal.stdoutIsTTY && catalogue.snapshots.length > STREAM_FROM) {
        // A human at a terminal sees rows as their drill records are read, a window at a time, newest first.
        // Not before: no row is final until every manifest is read (a later one can flag it as a replay).
        // Every column but the last (DRILL) is known from the manifests, so the widths are fixed up front.
        const widths = columnWidths([header, ...catalogue.snapshots.map((m) => rowOf(m, none))]);
        for (let i = 0; i < catalogue.snapshots.length; i += STREAM_WINDOW) {
          const window = catalogue.snapshots.slice(i, i + STREAM_WINDOW);
          const statuses = await store.drillStatuses(
            catalogue,
            window.map((m) => m.id),
          );
          const rows = window.flatMap((m) => {
            const status = statuses.get(m.id) ?? none;
            return shown(status) ? [rowOf(m, status)] : [];
          });
          if (rows.length === 0) continue;
          if (listed === 0) rows.unshift(header);
          listed += rows.length;
          ctx.stdout.write(`${rows.map((r) => tableRow(r, widths)).join('\n')}\n`);
        }
      } else {
        const statuses = await store.drillStatuses(catalogue);
        const rows = catalogue.snapshots
          .map((m) => ({ m, status: statuses.get(m.id) ?? none }))
          .filter(({ status }) => shown(status))
          .map(({ m, status }) => rowOf(m, status));
        listed = rows.length;
        if (rows.length) lines.push(...table([header, ...rows]));
      }
      if (listed === 0) {
        lines.push(
          unverifiedOnly && catalogue.snapshots.length
            ? `every snapshot in ${store.url} has a passing restore drill`
            : `no snapshots in ${store.url}`,
        );
      }
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
