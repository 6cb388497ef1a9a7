import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { reportOptions } from '../../options/report.js';
import type { CommandModule } from '../command-module.js';

export const reportCommand: CommandModule = {
  register(program, run) {
    const cmd = program
      .command('report')
      .description(
        'write an HTML page for auditors: the catalogue, every restore drill and their charts (one file, no scripts)',
      );
    addOptions(cmd, reportOptions);
    cmd.action(async (flags: Record<string, unknown>, command: Command) =>
      run(command, async (ctx) => (await import('../actions/report.js')).runReport(ctx, flags)),
    );
  },
};
