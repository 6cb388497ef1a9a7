import type { Command } from 'commander';
import { addOptions } from '../../options/commander-options.js';
import { rotateKvOptions } from '../../options/rotate-kv.js';
import type { CommandModule } from '../command-module.js';

/**
 * `vault-ops rotate kv --policy FILE [--dry-run]`, `rotate kv status`, `rotate kv clear`. The
 * actions live in actions/rotate-kv.ts, loaded when one runs.
 */
const actions = () => import('../actions/rotate-kv.js');

export const rotateKvCommand: CommandModule = {
  register(program, run) {
    const rotate =
      program.commands.find((c) => c.name() === 'rotate') ??
      program.command('rotate').description('rotate secrets (KV v2 static secrets)');
    const kv = addOptions(
      rotate
        .command('kv')
        .description(
          'rotate KV v2 secrets per a policy file: create → set → test → finish, resumable, locked per secret',
        ),
      rotateKvOptions,
    ).action(async (_opts, cmd: Command) => run(cmd, async (ctx) => (await actions()).runRotateKv(ctx, cmd)));

    kv.command('status')
      .description("each secret's rotation state, last rotation, next due date, failures")
      .action(async (_opts, cmd: Command) => run(cmd, async (ctx) => (await actions()).runRotateKvStatus(ctx, cmd)));

    kv.command('clear')
      .description('lift a quarantine and reset failures (drops a pending rotation): run it after reconciling by hand')
      .action(async (_opts, cmd: Command) => run(cmd, async (ctx) => (await actions()).runRotateKvClear(ctx, cmd)));
  },
};
