import type { Command } from 'commander';
import type { CommandContext } from './context.js';

/** How main.ts runs a command's action: builds the context, prints the one-line error, sets the exit code. */
export type RunAction = (cmd: Command, action: (ctx: CommandContext) => Promise<void>) => Promise<void>;

/**
 * A command module: wires itself into commander; its options are declared in its table (options/).
 * Its own file, so that commands do not import main.ts (which imports every command).
 */
export interface CommandModule {
  register(program: Command, run: RunAction): void;
}
