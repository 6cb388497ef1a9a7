import type { Command } from 'commander';
import type { CommandModule } from '../command-module.js';

export const statusCommand: CommandModule = {
  register(program, run) {
    program
      .command('status')
      .description('cluster health: seal state, version, leader, raft peers, autopilot')
      .action(async (_opts, cmd: Command) =>
        run(cmd, async (ctx) => (await import('../actions/status.js')).runStatus(ctx)),
      );
  },
};
