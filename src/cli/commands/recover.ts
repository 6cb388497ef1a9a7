import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { recoverOptions } from '../../options/recover.js';
import type { CommandModule } from '../command-module.js';

export const recoverCommand: CommandModule = {
  register(program, run) {
    const cmd = program
      .command('recover')
      .description(
        'recover secrets or policies from a snapshot into the live cluster, without rolling anything else back ' +
          '(see runbooks/recover.md)',
      );
    addOptions(cmd, recoverOptions);
    cmd.action(async (flags: Record<string, unknown>, command: Command) =>
      run(command, async (ctx) => (await import('../actions/recover.js')).runRecover(ctx, flags)),
    );
  },
};
