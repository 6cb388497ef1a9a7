import { z } from 'zod';
import type { OptionSpec } from './option-table.js';

/**
 * Options and value types that more than one command declares, declared once: the same flag or
 * environment variable must mean the same thing (type, validation, default) wherever it is read,
 * since one config file feeds every command (declared-once.test.ts checks every table). A command
 * may word its help for its own use (`{ ...identityFileOption, help: '…' }`), nothing else.
 */

export const DEFAULT_STAGING_MOUNT = 'vault-ops-staging';
export const DEFAULT_CANARY_MOUNT = 'vault-ops-canary';

/** A Vault mount path (`database`, `team/db`); surrounding slashes are dropped. */
export function mountPath(required = 'required: a mount path such as database') {
  return z
    .string({ message: required })
    .transform((s) => s.replace(/^\/+|\/+$/g, ''))
    .pipe(
      z
        .string()
        .min(1, 'must name a mount')
        .regex(/^[\w.\-/]+$/, 'a mount path such as database or team/db'),
    );
}

/** A name as Vault allows it for connections, roles and policies. */
export const vaultName = z.string().regex(/^\w(([\w.-]+)?\w)?$/, 'letters, digits, _ . - (as Vault allows for names)');

/** A snapshot store URL (`s3://bucket/prefix`, `az://…`, `gs://…`, `file:///dir` or a path). */
export const storeUrl = z.string().min(1, 'required: the snapshot store URL');

export const identityFileOption = {
  key: 'identityFile',
  flag: '--identity-file <file>',
  help: 'age identities for encrypted snapshots',
  env: ['VAULT_OPS_IDENTITY_FILE'],
  type: z.string().min(1).optional(),
} as const satisfies OptionSpec;

/** How long a restore may take to apply: the live cluster's (restore) and the scratch server's (verify). */
export const restoreTimeoutOption = {
  key: 'restoreTimeoutSeconds',
  flag: '--restore-timeout-seconds <n>',
  help: 'how long the restore may take to apply (default 600)',
  env: ['VAULT_OPS_RESTORE_TIMEOUT_SECONDS'],
  parse: 'number',
  type: z
    .number()
    .positive()
    .max(24 * 3600)
    .default(600),
} as const satisfies OptionSpec;

/** rotate kv's KV v2 mount for pending values, locks and revoke records. */
export const stagingMountOption = {
  key: 'stagingMount',
  flag: '--staging-mount <mount>',
  help: `KV v2 mount for pending values and locks (default ${DEFAULT_STAGING_MOUNT})`,
  env: ['VAULT_OPS_STAGING_MOUNT'],
  type: mountPath().default(DEFAULT_STAGING_MOUNT),
} as const satisfies OptionSpec;

/** The KV v1 mount of the snapshot job's canary. */
export const canaryMountOption = {
  key: 'canaryMount',
  flag: '--canary-mount <mount>',
  help: `KV v1 mount of the canary (default ${DEFAULT_CANARY_MOUNT})`,
  env: ['VAULT_OPS_CANARY_MOUNT'],
  type: mountPath().default(DEFAULT_CANARY_MOUNT),
} as const satisfies OptionSpec;

/** The scratch server that restore drills and recoveries restore snapshots into (verify, recover). */
export const vaultBinaryOption = {
  key: 'vaultBinary',
  flag: '--vault-binary <path>',
  help:
    "vault/bao binary for the scratch server, of the snapshot's flavour (default: vault for Vault snapshots, " +
    'bao for OpenBao ones, on PATH)',
  env: ['VAULT_OPS_VAULT_BINARY'],
  type: z.string().min(1).optional(),
} as const satisfies OptionSpec;

export const unsealKeysFileOption = {
  key: 'unsealKeysFile',
  example: '/run/secrets/unseal-keys (one key per line, mode 0600)',
  flag: '--unseal-keys-file <file>',
  help: "the source cluster's unseal keys, one per line (VAULT_OPS_UNSEAL_KEYS_FILE)",
  env: ['VAULT_OPS_UNSEAL_KEYS_FILE'],
  type: z.string().min(1, "required: a file with the source cluster's unseal keys, one per line"),
} as const satisfies OptionSpec;

export const scratchPortOption = {
  key: 'scratchPort',
  flag: '--scratch-port <port>',
  help: 'API port of the scratch server (the cluster port is the next one)',
  env: ['VAULT_OPS_SCRATCH_PORT'],
  parse: 'int',
  type: z.number().int().min(1024).max(65534).optional(),
} as const satisfies OptionSpec;

export const sealConfigOption = {
  key: 'sealConfig',
  flag: '--seal-config <file>',
  help: "the source's seal stanza (HCL) for auto-unseal snapshots",
  env: ['VAULT_OPS_SEAL_CONFIG'],
  type: z.string().min(1).optional(),
} as const satisfies OptionSpec;
