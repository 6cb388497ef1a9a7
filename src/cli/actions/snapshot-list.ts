import { SnapshotListOptionsSchema, snapshotListOptionSources } from '../../options/snapshot.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { formatBytes, printJson, printLines, table } from '../output.js';

/** `snapshot list`: the catalogue, newest first, and the incomplete objects beside it. */
export async function runSnapshotList(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
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
          formatBytes(m.archive.bytes),
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
          ...table(catalogue.incomplete.map((i) => [`  ${i.key}`, formatBytes(i.bytes), i.lastModified, i.reason])),
        );
      }
      printLines(ctx.stdout, lines);
    }
  } finally {
    await store.close();
  }
}
