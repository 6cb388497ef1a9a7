import { resolveOptions } from '../../config/resolve.js';
import {
  SnapshotHistoryOptionsSchema,
  SnapshotHistoryPathSchema,
  snapshotHistoryOptionSources,
  snapshotHistoryPathSources,
} from '../../options/recover.js';
import { type HistoryEntry, snapshotHistory } from '../../recover/index.js';
import { toolVersion } from '../../version.js';
import { openCommandStore } from '../command-store.js';
import { readScratchInputs } from '../scratch-inputs.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/** `snapshot history`: one KV secret through the newest snapshots, metadata only. */
export async function runSnapshotHistory(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const { path } = resolveOptions(
    SnapshotHistoryPathSchema,
    snapshotHistoryPathSources,
    { flags, env: {}, file: {} },
    'snapshot history',
  );
  const o = resolveCommandOptions(ctx, SnapshotHistoryOptionsSchema, snapshotHistoryOptionSources, flags);
  const { unsealKeys, identities, seal } = await readScratchInputs(ctx, o);
  const store = await openCommandStore(ctx, o.from, o);
  const interrupt = abortOnSignals();
  try {
    const text = ctx.options.output !== 'json';
    if (text) printLines(ctx.stdout, [`History of ${path[0]} in ${store.url} (newest first):`]);
    const entries = await snapshotHistory(
      { repository: store, logger: ctx.logger, secrets: ctx.secrets, toolVersion, signal: interrupt.signal },
      {
        path: path[0]!,
        limit: o.limit,
        ...(o.vaultBinary ? { binary: o.vaultBinary } : {}),
        ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
        unsealKeys,
        ...(identities ? { identities } : {}),
        ...(o.scratchPort ? { scratchPort: o.scratchPort } : {}),
        ...(seal ?? {}),
        restoreTimeoutMs: o.restoreTimeoutSeconds * 1000,
      },
      // Each snapshot takes a restore: print it as it comes.
      (entry) => {
        if (text) printLines(ctx.stdout, table([row(entry)], '  '));
      },
    );
    if (!text) printJson(ctx.stdout, { path: path[0], snapshots: entries });
  } finally {
    interrupt.dispose();
    await store.close();
  }
}

function row(e: HistoryEntry): string[] {
  if (e.error) return [e.snapshotId, e.createdAt, `NOT READ: ${e.error}`];
  if (!e.present) return [e.snapshotId, e.createdAt, 'absent'];
  if (e.kind === 'kv1') return [e.snapshotId, e.createdAt, 'present (KV v1)'];
  const versions = (e.versions ?? [])
    .map((v) => `${v.version}${v.destroyed ? ' destroyed' : v.deleted ? ' deleted' : ''}`)
    .join(', ');
  return [e.snapshotId, e.createdAt, `version ${e.currentVersion} of ${e.updatedTime ?? '-'}`, `versions: ${versions}`];
}
