import type { z } from 'zod';
import type { OptionSource } from '../config/resolve.js';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import { resolveCommandOptions, type CommandContext } from './context.js';

/** One group of a command's options: its schema and where each option may come from. */
export type SettingsGroup = readonly [schema: z.ZodType, sources: readonly OptionSource[]];

/** The typed settings of a command: one object per group. */
export type Settings<G extends Record<string, SettingsGroup>> = { [K in keyof G]: z.output<G[K][0]> };

/**
 * A command's one step from flags, environment and config file to typed settings (Velero's
 * Complete/Validate before Run): every group is resolved and validated before the command opens a
 * store or contacts Vault, and every group's problems are reported together in one error, so a bad
 * store option is never found only after the Vault login.
 */
export function resolveSettings<G extends Record<string, SettingsGroup>>(
  ctx: CommandContext,
  flags: Record<string, unknown>,
  groups: G,
): Settings<G> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, [schema, sources]] of Object.entries(groups)) {
    const mine = Object.fromEntries(sources.map((s) => [s.key, flags[s.key]]));
    try {
      out[name] = resolveCommandOptions(ctx, schema, sources, mine);
    } catch (err) {
      if (!isVaultOpsError(err) || err.code !== 'config') throw err;
      if (!problems.includes(err.message)) problems.push(err.message);
    }
  }
  if (problems.length > 0) throw new VaultOpsError('config', problems.join('; '));
  return out as Settings<G>;
}
