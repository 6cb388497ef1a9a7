import { VaultOpsError } from '../errors.js';
import type { Confirmer } from '../runbook/types.js';
import type { CommandContext } from './context.js';
import { PromptInterrupted } from './terminal.js';

/** Typed confirmation on the terminal; without one, a 'confirmation' error naming the gate (exit 4). */
export function terminalConfirmer(ctx: CommandContext): Confirmer {
  return async (request) => {
    if (!ctx.terminal.interactive) {
      throw new VaultOpsError(
        'confirmation',
        `step ${request.step} needs confirmation and this run is not interactive`,
      );
    }
    const confirmed = await ctx.terminal.confirm(`\n${request.prompt}.`, request.phrase).catch((err: unknown) => {
      // The Confirmer contract: Ctrl-C is 'aborted' (the operator stopped), not 'nobody can be asked'.
      if (err instanceof PromptInterrupted) throw new VaultOpsError('aborted', err.message, { cause: err });
      throw err;
    });
    ctx.logger.debug({ step: request.step, confirmed }, 'confirmation gate');
    return confirmed;
  };
}
