import { readOptionFile, readSecretLines } from '../io/option-file.js';
import { readIdentities } from '../snapshot/age-encryption.js';
import { sealConfigSecrets, sealEnvironment } from '../verify/seal-environment.js';
import type { CommandContext } from './context.js';

/** What a scratch server needs to open a snapshot: the source's keys, age identities, an auto-unseal stanza. */
export interface ScratchInputs {
  unsealKeys: string[];
  identities?: string[];
  /** The seal stanza and the environment its seal may read (auto-unseal sources). */
  seal?: { sealConfig: string; sealEnv: Record<string, string> };
}

/**
 * Read the files of the options every command that opens a snapshot in a scratch server shares
 * (verify, recover, snapshot history), before any store or Vault is touched; every secret in them is
 * registered with the run's redaction at once.
 */
export async function readScratchInputs(
  ctx: CommandContext,
  o: { unsealKeysFile: string; identityFile?: string | undefined; sealConfig?: string | undefined },
): Promise<ScratchInputs> {
  const unsealKeys = await readSecretLines(o.unsealKeysFile, 'unseal keys', '--unseal-keys-file', (v) =>
    ctx.secrets.add(v),
  );
  const identities = o.identityFile ? await readIdentities(o.identityFile) : undefined;
  identities?.forEach((i) => ctx.secrets.add(i));
  const sealConfig = o.sealConfig ? await readOptionFile(o.sealConfig, 'seal config', '--seal-config') : undefined;
  if (sealConfig) sealConfigSecrets(sealConfig).forEach((v) => ctx.secrets.add(v));
  return {
    unsealKeys,
    ...(identities ? { identities } : {}),
    ...(sealConfig ? { seal: { sealConfig, sealEnv: sealEnvironment(ctx.env, sealConfig) } } : {}),
  };
}
