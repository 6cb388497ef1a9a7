import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { verifyOptions } from '../../options/verify.js';
import type { CommandModule } from '../command-module.js';

export const verifyCommand: CommandModule = {
  register(program, run) {
    const cmd = program
      .command('verify')
      .description('restore drill: restore a snapshot into a throw-away scratch server and check it');
    addOptions(cmd, verifyOptions);
    cmd.action(async (flags: Record<string, unknown>, command: Command) =>
      run(command, async (ctx) => (await import('../actions/verify.js')).runVerify(ctx, flags)),
    );
  },
};
