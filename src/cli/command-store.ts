import type { StoreOptions } from '../options/store.js';
import { SnapshotRepository } from '../repository/snapshot-repository.js';
import { openSnapshotStore } from '../store/open-store.js';
import type { CommandContext } from './context.js';

/**
 * A command's store, as the snapshots in it (the repository over the store): its S3 settings, the
 * global --allow-insecure-http (plain-http S3 endpoints follow the rule Vault addresses do) and
 * the command's environment for the credentials.
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
    { ...options, allowInsecureHttp: ctx.options.allowInsecureHttp, createFolder: access === 'write' },
    ctx.env,
  );
  return new SnapshotRepository(store);
}
