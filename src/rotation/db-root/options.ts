import { resolve } from 'node:path';
import { z } from 'zod';
import type { OptionSource } from '../../config/resolve.js';
import { parseDuration } from '../../time/duration.js';

/** Vault's own rule for connection and role names (framework.GenericNameRegex). */
const vaultName = z.string().regex(/^\w(([\w.-]+)?\w)?$/, 'letters, digits, _ . - (as Vault allows for names)');

export const RotateRootOptionsSchema = z
  .object({
    mount: z
      .string({ message: 'required: the database secrets engine mount, e.g. --mount database' })
      .transform((s) => s.replace(/^\/+|\/+$/g, ''))
      .pipe(z.string().min(1, 'must name a mount').regex(/^[\w.\-/]+$/, 'a mount path such as database or team/db')),
    connection: vaultName.describe('the connection name under <mount>/config/'),
    dryRun: z.boolean().default(false),
    resume: z.boolean().default(false),
    yes: z.boolean().default(false),
    journal: z.string().min(1).optional(),
    snapshotStore: z.string().min(1).optional(),
    recordTo: z.string().min(1).optional(),
    snapshotMaxAge: z
      .string()
      .default('24h')
      .transform((s, ctx) => {
        try {
          return parseDuration(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    canaryStaticRole: z.array(vaultName).default([]),
    rebootstrap: z.boolean().default(false),
    passwordFile: z.string().min(1).optional(),
    loginCheckAddress: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port')
      .optional(),
    /** PEM file of the CA that signed the database's certificate (PostgreSQL login checks verify against it). */
    dbCaCert: z.string().min(1).optional(),
  })
  .transform((o) => ({
    ...o,
    /** Default journal: one per mount and connection in the current directory, so --resume finds it. */
    journal: resolve(o.journal ?? `vault-ops-rotate-root-${o.mount.replace(/\//g, '_')}-${o.connection}.journal.jsonl`),
  }));

export type RotateRootOptions = z.output<typeof RotateRootOptionsSchema>;

/**
 * Where options may come from. `--dry-run`, `--resume`, `--yes` and `--rebootstrap` are decisions
 * for one run: flags only, never the environment or a config file (a `yes: true` in a shared
 * YAML file must not confirm rotations). Use `withRunFlags` to add them.
 */
export const rotateRootOptionSources: readonly OptionSource[] = [
  { key: 'mount' },
  { key: 'connection' },
  { key: 'journal', env: ['VAULT_OPS_RUNBOOK_JOURNAL'] },
  { key: 'snapshotStore', env: ['VAULT_OPS_SNAPSHOT_STORE'] },
  { key: 'recordTo', env: ['VAULT_OPS_RECORD_TO'] },
  { key: 'snapshotMaxAge' },
  { key: 'canaryStaticRole' },
  { key: 'passwordFile' },
  { key: 'loginCheckAddress' },
  { key: 'dbCaCert', env: ['VAULT_OPS_DB_CA_CERT'] },
];

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
  };
}
export const identityParameters = ['mount', 'connection'] as const;

/** The per-run decisions, from command-line flags only. */
export function withRunFlags(options: RotateRootOptions, flags: Record<string, unknown>): RotateRootOptions {
  return { ...options, dryRun: flags.dryRun === true, resume: flags.resume === true, yes: flags.yes === true, rebootstrap: flags.rebootstrap === true };
}
