import { SnapshotCopyOptionsSchema, snapshotCopyOptionSources } from '../../options/snapshot.js';
import { VaultOpsError } from '../../errors.js';
import { copySnapshots, type CopyReport } from '../../repository/copy.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import { requireObjectLock } from '../../snapshot/protection.js';
import { abortOnSignals } from '../signals.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { formatBytes, printJson, printLines, table } from '../output.js';
import { checkStoreNames, parseStoreTarget } from '../store-target.js';

/**
 * `snapshot copy --from A --to B [--to C…] [--snapshot ID|latest|oldest | --missing]`.
 * `--output json`: `{copies: [{from, to, copied: [{id, archiveKey, manifestKey, bytes, sha256, drills}],
 * skipped: [{id, reason, drills}]}]}`, one entry per destination.
 */
export async function runSnapshotCopy(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, SnapshotCopyOptionsSchema, snapshotCopyOptionSources, flags);
  checkStoreNames([o.from, ...o.to].map(parseStoreTarget));
  const selection = o.missing ? { missing: true as const } : { snapshot: o.snapshot ?? 'latest' };
  const opened: SnapshotRepository[] = [];
  const interrupt = abortOnSignals();
  try {
    const from = await openCommandStore(ctx, o.from, o);
    opened.push(from);
    // Every destination is opened and checked before the first byte moves: a lock asked for and a
    // store that cannot lock is a refusal, as in a save, not a copy written unlocked.
    const destinations: Array<{ to: SnapshotRepository; objectLock: ReturnType<typeof requireObjectLock> }> = [];
    for (const url of o.to) {
      const to = await openCommandStore(ctx, url, o, 'write');
      opened.push(to);
      destinations.push({ to, objectLock: requireObjectLock(o, to) });
    }
    const copies: CopyReport[] = [];
    for (const { to, objectLock } of destinations) {
      copies.push(
        await copySnapshots(from, to, selection, {
          logger: ctx.logger,
          signal: interrupt.signal,
          ...(objectLock ? { protection: { objectLock } } : {}),
        }),
      );
    }
    if (ctx.options.output === 'json') printJson(ctx.stdout, { copies });
    else {
      printLines(
        ctx.stdout,
        copies.flatMap((c) => [
          `Copy ${c.from} → ${c.to}: ${c.copied.length} copied, ${c.skipped.length} already there`,
          ...table([
            ...c.copied.map((x) => [
              '  copied',
              x.id,
              `${formatBytes(x.bytes)}, sha256 ${x.sha256.slice(0, 16)}… verified, ${x.drills} drill record(s)`,
            ]),
            // A named snapshot that is already there deserves a word; --missing skips them by design.
            ...(o.missing ? [] : c.skipped.map((x) => ['  skipped', x.id, x.reason])),
            // Newer drill records of a snapshot already there are brought over all the same.
            ...c.skipped
              .filter((x) => x.drills > 0)
              .map((x) => ['  drills', x.id, `${x.drills} newer drill record(s) copied`]),
          ]),
        ]),
      );
    }
  } catch (err) {
    if (interrupt.signal.aborted && !(err instanceof VaultOpsError && err.code === 'aborted'))
      throw new VaultOpsError('aborted', 'snapshot copy interrupted; nothing partial was left: run it again', {
        cause: err,
      });
    throw err;
  } finally {
    interrupt.dispose();
    await Promise.allSettled(opened.map((s) => s.close()));
  }
}
