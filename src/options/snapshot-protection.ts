import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

/**
 * How every snapshot vault-ops takes is protected (snapshot/protection.ts): the same flags,
 * environment and config keys wherever snapshots are taken.
 */
export const snapshotProtectionOptions = [
  {
    key: 'encryptTo',
    flag: '--encrypt-to <recipient>',
    help: 'encrypt snapshots with age for this recipient (repeatable; VAULT_OPS_ENCRYPT_TO)',
    env: ['VAULT_OPS_ENCRYPT_TO'],
    parse: 'list',
    type: z.array(z.string()).default([]),
  },
  {
    key: 'recipientsFile',
    flag: '--recipients-file <file>',
    help: 'age recipients for snapshots, one per line (VAULT_OPS_RECIPIENTS_FILE)',
    env: ['VAULT_OPS_RECIPIENTS_FILE'],
    type: z.string().min(1).optional(),
  },
  signingKeyOption(),
] as const satisfies readonly OptionSpec[];

/**
 * `--signing-key FILE`: what signs what vault-ops writes to a store: manifests (save, copy's
 * destination keeps the source's signature, restore's safety snapshot) and drill records (verify).
 */
export function signingKeyOption() {
  return {
    key: 'signingKey',
    flag: '--signing-key <file>',
    help: 'ed25519 private key (PEM) that signs the manifests and drill records written (VAULT_OPS_SIGNING_KEY)',
    env: ['VAULT_OPS_SIGNING_KEY'],
    type: z.string().min(1).optional(),
  } as const satisfies OptionSpec;
}

export const SnapshotProtectionOptionsSchema = schemaOf(snapshotProtectionOptions);
export type SnapshotProtectionOptions = z.output<typeof SnapshotProtectionOptionsSchema>;
export const snapshotProtectionOptionSources = sourcesOf(snapshotProtectionOptions);
