import type { S3Options } from '../options/s3.js';
import { openSnapshotStore } from '../store/open-store.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import type { CommandContext } from './context.js';

/**
 * A command's store: its S3 settings, the global --allow-insecure-http (plain-http S3 endpoints
 * follow the rule Vault addresses do) and the command's environment for the credentials.
 */
export function openCommandStore(ctx: CommandContext, url: string, s3: Partial<S3Options> = {}): Promise<SnapshotStore> {
  return openSnapshotStore(url, { ...s3, allowInsecureHttp: ctx.options.allowInsecureHttp }, ctx.env);
}
