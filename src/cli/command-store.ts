import type { StoreOptions } from '../options/store.js';
import { SnapshotRepository } from '../repository/snapshot-repository.js';
import { openSnapshotStore } from '../store/open-store.js';
import type { CommandContext } from './context.js';

/**
 * A command's store, as the snapshots in it (the repository over the store): its S3 / Azure
 * settings, the global --allow-insecure-http (plain-http store endpoints follow the rule Vault
 * addresses do), the command's environment for the credentials, and its secret registry (every
 * credential value the store reads is redacted from logs and errors).
 */
export async function openCommandStore(
  ctx: CommandContext,
  url: string,
  options: Partial<StoreOptions> = {},
  /** `write`: the command stores snapshots or records there, and makes a folder that does not exist yet. */
  access: 'read' | 'write' = 'read',
): Promise<SnapshotRepository> {
  const store = await openSnapshotStore(
    url,
    {
      ...options,
      allowInsecureHttp: ctx.options.allowInsecureHttp,
      createFolder: access === 'write',
      registerSecret: (v) => ctx.secrets.add(v),
    },
    ctx.env,
  );
  return new SnapshotRepository(store);
}
