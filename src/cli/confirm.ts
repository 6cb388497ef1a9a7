import { createInterface } from 'node:readline';
import { VaultOpsError } from '../errors.js';
import type { Confirmer } from '../runbook/types.js';
import type { CommandContext } from './context.js';

/** Typed confirmation on a terminal; without one, a 'confirmation' error naming the gate (exit 4). */
export function terminalConfirmer(ctx: CommandContext): Confirmer {
  return async (request) => {
    if (!process.stdin.isTTY) {
      throw new VaultOpsError('confirmation', `step ${request.step} needs confirmation and this run is not interactive`);
    }
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    try {
      const answer = await new Promise<string>((resolve) => rl.question(`\n${request.prompt}.\nType "${request.phrase}" to continue (anything else stops): `, resolve));
      ctx.logger.debug({ step: request.step, confirmed: answer.trim() === request.phrase }, 'confirmation gate');
      return answer.trim() === request.phrase;
    } finally {
      rl.close();
    }
  };
}

