import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import {
  snapshotCopyOptions,
  snapshotInspectOptions,
  snapshotListOptions,
  snapshotPruneOptions,
  snapshotSaveOptions,
} from '../../options/snapshot.js';
import { snapshotHistoryOptions } from '../../options/recover.js';
import type { CommandModule } from '../command-module.js';

/**
 * Each subcommand's action lives in its own module (actions/snapshot-*.ts), loaded when it runs:
 * `snapshot list` does not load the save pipeline, help loads none of them.
 */
export const snapshotCommand: CommandModule = {
  register(program, run) {
    const snapshot = program
      .command('snapshot')
      .description('Raft snapshots: save, copy, list, inspect, prune, history');

    const save = snapshot
      .command('save')
      .description('take a snapshot from the leader and stream it to the store, checked on the way');
    addOptions(save, snapshotSaveOptions);
    save.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/snapshot-save.js')).runSnapshotSave(ctx, flags)),
    );

    const copy = snapshot
      .command('copy')
      .description('copy snapshots between stores, create-only, each checked against its sha256 on the way');
    addOptions(copy, snapshotCopyOptions);
    copy.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/snapshot-copy.js')).runSnapshotCopy(ctx, flags)),
    );

    const list = snapshot
      .command('list')
      .description("the catalogue, newest first, with each snapshot's last restore drill (verified, FAILED, never)");
    addOptions(list, snapshotListOptions);
    list.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/snapshot-list.js')).runSnapshotList(ctx, flags)),
    );

    const inspect = snapshot
      .command('inspect')
      .description('offline integrity check and summary of an archive file or a stored snapshot (URL#ID)')
      .argument('<target>', 'archive file, or store URL#ID (ID may be latest or oldest)');
    addOptions(inspect, snapshotInspectOptions);
    inspect.action(async (targetArg: string, flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) =>
        (await import('../actions/snapshot-inspect.js')).runSnapshotInspect(ctx, targetArg, flags),
      ),
    );

    const prune = snapshot
      .command('prune')
      .description('apply a retention policy (like restic forget); --dry-run prints the plan');
    addOptions(prune, snapshotPruneOptions);
    prune.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/snapshot-prune.js')).runSnapshotPrune(ctx, flags)),
    );

    const history = snapshot
      .command('history')
      .description(
        'which snapshots hold a KV secret, at which version and time (each read in a recovery-mode scratch copy)',
      );
    addOptions(history, snapshotHistoryOptions);
    history.action(async (flags: Record<string, unknown>, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/snapshot-history.js')).runSnapshotHistory(ctx, flags)),
    );
  },
};
