import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { rotateRootOptions } from '../../options/rotate-root.js';
import type { CommandModule } from '../command-module.js';

export const runbookCommand: CommandModule = {
  register(program, run) {
    const runbook = program
      .command('runbook')
      .description('guided, resumable operational runbooks (journaled, with confirmation gates)');
    addOptions(
      runbook
        .command('rotate-root')
        .description(
          'rotate the root credential of a database secrets engine connection, or re-bootstrap it after an ' +
            'out-of-band change',
        ),
      rotateRootOptions,
    ).action(async (_opts, cmd: Command) =>
      run(cmd, async (ctx) => (await import('../actions/runbook.js')).runRotateRootRunbook(ctx, cmd)),
    );
  },
};
