import { resolve } from 'node:path';
import { z } from 'zod';
import { mountPath, storeUrl, vaultName } from './shared.js';
import { parseDuration } from '../time/duration.js';
import { schemaOf, sourcesOf, pick, type OptionSpec } from './option-table.js';
import { s3Options } from './s3.js';
import { snapshotProtectionOptions } from './snapshot-protection.js';

/** Vault's own rule for connection and role names (framework.GenericNameRegex). */

/**
 * `runbook rotate-root`. `--dry-run`, `--resume`, `--yes` and `--rebootstrap` are decisions for one
 * run: command line only, never the environment or a config file (a `yes: true` in a shared YAML
 * file must not confirm rotations); rotation/db-root's `withRunFlags` adds them.
 */
export const rotateRootOwnOptions = [
  {
    key: 'mount',
    example: 'database',
    flag: '--mount <path>',
    help: 'database secrets engine mount (e.g. database)',
    type: mountPath('required: the database secrets engine mount, e.g. --mount database'),
  },
  {
    key: 'connection',
    example: "postgres-prod (a connection under the mount's config/)",
    flag: '--connection <name>',
    help: 'connection name under <mount>/config/',
    type: vaultName,
  },
  {
    key: 'dryRun',
    flag: '--dry-run',
    help: 'print the plan against the live state; change nothing',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'resume',
    flag: '--resume',
    help: 'continue the run in the journal after its last completed step',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'yes',
    flag: '--yes',
    help: 'pass the confirmation gates of the steps marked automatable',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'journal',
    flag: '--journal <file>',
    help: 'append-only JSONL journal (default ./vault-ops-rotate-root-<mount>-<connection>.journal.jsonl)',
    env: ['VAULT_OPS_RUNBOOK_JOURNAL'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'snapshotStore',
    flag: '--snapshot-store <url>',
    help: 'snapshot store to check for a recent good snapshot and to snapshot into after the rotation',
    env: ['VAULT_OPS_SNAPSHOT_STORE'],
    type: storeUrl.optional(),
  },
  {
    key: 'snapshotMaxAge',
    flag: '--snapshot-max-age <duration>',
    help: 'a snapshot older than this is not recent (default 24h)',
    type: z
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
  },
  {
    key: 'recordTo',
    flag: '--record-to <url>',
    help: 'store to write the rotation record to (no secret values)',
    env: ['VAULT_OPS_RECORD_TO'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'canaryStaticRole',
    flag: '--canary-static-role <name>',
    help: 'static role to rotate as a canary after the rotation (repeatable); no other static role is ever rotated',
    parse: 'list',
    type: z.array(vaultName).default([]),
  },
  {
    key: 'rebootstrap',
    flag: '--rebootstrap',
    help: 'take the re-bootstrap path even if the connection still works',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'allowSharedRoot',
    flag: '--allow-shared-root',
    help:
      'rotate even though the connection logs in as a shared superuser (postgres, root, admin, sa): afterwards ' +
      'only Vault knows its password and everyone else using it is locked out',
    type: z.boolean().default(false),
    from: 'command-line',
  },
  {
    key: 'passwordFile',
    flag: '--password-file <file>',
    help:
      'file holding the current root password for re-bootstrap (otherwise a hidden prompt on a terminal; never ' +
      'argv)',
    type: z.string().min(1).optional(),
  },
  {
    key: 'loginCheckAddress',
    flag: '--login-check-address <host:port>',
    help: 'where login checks connect to the database (default: the host in connection_url)',
    type: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port')
      .optional(),
  },
  {
    key: 'dbCaCert',
    flag: '--db-ca-cert <file>',
    help:
      'PEM file of the CA that signed the database certificate: PostgreSQL login checks verify the server ' +
      'against it (env VAULT_OPS_DB_CA_CERT)',
    env: ['VAULT_OPS_DB_CA_CERT'],
    type: z.string().min(1).optional(),
  },
] as const satisfies readonly OptionSpec[];

export const RotateRootOptionsSchema = schemaOf(rotateRootOwnOptions).transform((o) => ({
  ...o,
  /** Default journal: one per mount and connection in the current directory, so --resume finds it. */
  journal: resolve(o.journal ?? `vault-ops-rotate-root-${o.mount.replace(/\//g, '_')}-${o.connection}.journal.jsonl`),
}));
export type RotateRootOptions = z.output<typeof RotateRootOptionsSchema>;
export const rotateRootOptionSources = sourcesOf(rotateRootOwnOptions);

/**
 * Every flag of `runbook rotate-root`, in `--help` order. Of the stores' S3 settings only the
 * commonest three are flags; the others come from the environment or the config file, as for
 * snapshot save (all of s3Options resolve). The snapshots are protected like snapshot save's.
 */
export const rotateRootOptions = [
  ...rotateRootOwnOptions,
  pick(s3Options, 's3Endpoint', {
    help: 'S3 endpoint of the stores (VAULT_OPS_S3_ENDPOINT; other S3 settings from env/config as for snapshot save)',
  }),
  pick(s3Options, 's3Region'),
  pick(s3Options, 's3ForcePathStyle'),
  ...snapshotProtectionOptions,
] as const satisfies readonly OptionSpec[];
