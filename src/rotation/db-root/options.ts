import type { RotateRootOptions } from '../../options/rotate-root.js';

// The options are declared in options/rotate-root.ts (cheap to import at start-up); this module
// holds what the runbook does with them.
export { RotateRootOptionsSchema, rotateRootOptionSources, type RotateRootOptions } from '../../options/rotate-root.js';

/** The parameters journaled at the start of a run (no secret values); mount and connection must match on resume. */
export function journalParameters(o: RotateRootOptions): Record<string, string | boolean | string[] | null> {
  return {
    mount: o.mount,
    connection: o.connection,
    rebootstrap: o.rebootstrap,
    canaryStaticRoles: o.canaryStaticRole,
    snapshotStore: o.snapshotStore ?? null,
    recordTo: o.recordTo ?? null,
    passwordFromFile: o.passwordFile !== undefined,
    allowSharedRoot: o.allowSharedRoot,
  };
}
export const identityParameters = ['mount', 'connection'] as const;

/** The per-run decisions, from command-line flags only. */
export function withRunFlags(options: RotateRootOptions, flags: Record<string, unknown>): RotateRootOptions {
  return {
    ...options,
    dryRun: flags.dryRun === true,
    resume: flags.resume === true,
    yes: flags.yes === true,
    rebootstrap: flags.rebootstrap === true,
    allowSharedRoot: flags.allowSharedRoot === true,
  };
}
