import type { Command } from 'commander';
import type { CommandModule } from '../command-module.js';

const SHELL_NAMES = ['bash', 'zsh', 'fish'] as const;

/**
 * `vault-ops completion bash|zsh|fish`: the shell completion script, generated from the commands
 * and flags registered here (cli/completion.ts), so it never falls behind them.
 */
export const completionCommand: CommandModule = {
  register(program, run) {
    program
      .command('completion')
      .description('print the shell completion script (commands, flags, flag values): see the README to install it')
      .argument('<shell>', SHELL_NAMES.join(' | '))
      .action(async (shell: string, _opts: unknown, cmd: Command) =>
        run(cmd, async (ctx) => {
          const { completionScript, commandTree, SHELLS } = await import('../completion.js');
          const { VaultOpsError } = await import('../../errors.js');
          if (!(SHELLS as readonly string[]).includes(shell)) {
            throw new VaultOpsError('usage', `unknown shell ${shell}: use one of ${SHELLS.join(', ')}`);
          }
          ctx.stdout.write(completionScript(shell as (typeof SHELLS)[number], commandTree(program)));
        }),
      );
  },
};
