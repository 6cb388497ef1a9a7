import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { restoreOptions } from '../../options/restore.js';
import type { CommandModule } from '../command-module.js';

export const restoreCommand: CommandModule = {
  register(program, run) {
    const cmd = program
      .command('restore')
      .description(
        "restore a snapshot into the cluster at --vault-addr (the operator's restore; see runbooks/restore.md)",
      );
    addOptions(cmd, restoreOptions);
    cmd.action(async (flags: Record<string, unknown>, command: Command) =>
      run(command, async (ctx) => (await import('../actions/restore.js')).runRestore(ctx, flags)),
    );
  },
};
