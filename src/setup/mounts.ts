import { VaultOpsError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';

/** A KV mount a job needs: the snapshot job's canary (KV v1), rotate kv's staging mount (KV v2). */
export interface KvMountNeed {
  /** What it is for, in messages: `canary`, `staging`. */
  role: 'canary' | 'staging';
  mount: string;
  version: '1' | '2';
  description: string;
  /** The flag that chooses another path, for the message when the path holds something else. */
  flag: string;
}

export type KvMountResult = 'created' | 'exists' | 'would create';

/**
 * Make sure a KV mount exists with the version a job needs: create it when absent, leave it when
 * present as that version (idempotent, so setup can run on every deploy), refuse when the path is
 * mounted as something else. A dry run only reads.
 */
export async function ensureKvMount(
  client: VaultClient,
  need: KvMountNeed,
  options: { dryRun?: boolean } = {},
): Promise<KvMountResult> {
  const mounts = await client.read<{ data?: Record<string, { type: string; options?: { version?: string } | null }> }>(
    'sys/mounts',
  );
  const existing = mounts.data?.[`${need.mount}/`];
  if (existing) {
    const version = existing.options?.version ?? '1';
    if (existing.type !== 'kv' || version !== need.version) {
      throw new VaultOpsError(
        'config',
        `${need.mount}/ is mounted as ${existing.type}${existing.type === 'kv' ? ` v${version}` : ''}, not KV ` +
          `v${need.version} as the ${need.role} mount must be: choose another ${need.flag}`,
      );
    }
    return 'exists';
  }
  if (options.dryRun) return 'would create';
  await client.write(`sys/mounts/${need.mount}`, {
    type: 'kv',
    options: { version: need.version },
    description: need.description,
  });
  return 'created';
}

export function canaryMountNeed(mount: string): KvMountNeed {
  return {
    role: 'canary',
    mount,
    version: '1',
    description: 'vault-ops restore-drill canary',
    flag: '--canary-mount',
  };
}

export function stagingMountNeed(mount: string): KvMountNeed {
  return {
    role: 'staging',
    mount,
    version: '2',
    description: 'vault-ops rotation staging (pending values and locks)',
    flag: '--staging-mount',
  };
}

/** One line for a mount's outcome, as setup prints it. */
export function describeMountResult(need: KvMountNeed, result: KvMountResult): string {
  const what = `the KV v${need.version} ${need.role} mount ${need.mount}/`;
  if (result === 'created') return `created ${what}`;
  if (result === 'would create') return `would create ${what} (dry run)`;
  return `${what} already exists`;
}
