import { createHash } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { VaultClient } from '../vault/client.js';
import type { SecretData } from './snapshot-items.js';
import type { ItemSide } from './types.js';

/** The live cluster's side of an item, read through its normal API at plan time (and again before writing). */

async function readOrAbsent<T>(vault: VaultClient, path: string): Promise<T | undefined> {
  try {
    return await vault.read<T>(path);
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'not-found') return undefined;
    throw err;
  }
}

/**
 * Every string of a secret (at any depth) into the registry: no log line or error may carry one. Short
 * strings, numbers and booleans are left out: scrubbing `true` or `5432` from every line would corrupt
 * the JSON output without protecting a credential (nothing prints a value in the first place).
 */
export function registerValues(secrets: SecretRegistry, data: unknown): void {
  if (typeof data === 'string') {
    if (data.length >= 8) secrets.add(data);
  } else if (Array.isArray(data)) for (const v of data) registerValues(secrets, v);
  else if (data && typeof data === 'object') for (const v of Object.values(data)) registerValues(secrets, v);
}

/** A digest of a live item (KV v1 values, a policy's text), to notice a change between the plan and the write. */
export function fingerprint(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(value ?? null))
    .digest('hex');
}

interface LiveKv2Metadata {
  data?: {
    current_version?: number;
    versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
    custom_metadata?: Record<string, string> | null;
  };
}

export interface LiveKv2 {
  side: ItemSide;
  data: SecretData | undefined;
  customMetadata: Record<string, string> | undefined;
}

/** A KV v2 secret as the live cluster has it: its metadata, and its current values when readable. */
export async function readLiveKv2(
  vault: VaultClient,
  secrets: SecretRegistry,
  mount: string,
  path: string,
): Promise<LiveKv2> {
  const meta = (await readOrAbsent<LiveKv2Metadata>(vault, `${mount}/metadata/${path}`))?.data;
  if (!meta) return { side: { present: false }, data: undefined, customMetadata: undefined };
  const current = meta.current_version ?? 0;
  const v = meta.versions?.[String(current)];
  const deleted = !!v?.deletion_time && Date.parse(v.deletion_time) <= Date.now();
  const destroyed = v?.destroyed === true;
  const side: ItemSide = {
    present: true,
    version: current,
    ...(v?.created_time ? { time: v.created_time } : {}),
    deleted,
    destroyed,
  };
  let data: SecretData | undefined;
  if (current > 0 && !deleted && !destroyed) {
    data =
      (await readOrAbsent<{ data?: { data?: SecretData | null } }>(vault, `${mount}/data/${path}`))?.data?.data ??
      undefined;
    registerValues(secrets, data);
  }
  return { side, data, customMetadata: meta.custom_metadata ?? undefined };
}

/** A KV v1 secret's values as the live cluster has them, or undefined. */
export async function readLiveKv1(
  vault: VaultClient,
  secrets: SecretRegistry,
  mount: string,
  path: string,
): Promise<SecretData | undefined> {
  const data = (await readOrAbsent<{ data?: SecretData }>(vault, `${mount}/${path}`))?.data;
  registerValues(secrets, data);
  return data;
}

/**
 * A role as the live cluster reads it back (and approle's role id, a credential half: registered as a
 * secret), or undefined when there is none.
 */
export async function readLiveRole(
  vault: VaultClient,
  secrets: SecretRegistry,
  apiPath: string,
  withRoleId: boolean,
): Promise<{ body: Record<string, unknown>; roleId?: string } | undefined> {
  const body = (await readOrAbsent<{ data?: Record<string, unknown> }>(vault, apiPath))?.data;
  if (!body) return undefined;
  if (!withRoleId) return { body };
  const roleId = (await readOrAbsent<{ data?: { role_id?: string } }>(vault, `${apiPath}/role-id`))?.data?.role_id;
  secrets.add(roleId);
  return { body, ...(roleId ? { roleId } : {}) };
}

/** An ACL policy's text as the live cluster has it, or undefined. */
export async function readLivePolicy(vault: VaultClient, name: string): Promise<string | undefined> {
  return (await readOrAbsent<{ data?: { policy?: string } }>(vault, `sys/policies/acl/${name}`))?.data?.policy;
}

interface UiMount {
  data?: { path?: string; type?: string; options?: { version?: string } | null };
}

const kindOf = (m: UiMount['data']): 'kv1' | 'kv2' | undefined =>
  m?.type === 'kv' || m?.type === 'generic' ? (m.options?.version === '2' ? 'kv2' : 'kv1') : undefined;

/**
 * The live mount `mount` as the cluster describes it to any token with a capability under it
 * (`sys/internal/ui/mounts`): its KV kind, or undefined when it will not say (no such mount, no right).
 */
export async function liveKvMount(vault: VaultClient, mount: string): Promise<{ mount: string; kind?: 'kv1' | 'kv2' }> {
  const m = await vault.read<UiMount>(`sys/internal/ui/mounts/${mount}`).catch(() => undefined);
  const kind = kindOf(m?.data);
  return { mount, ...(kind ? { kind } : {}) };
}

/** `MOUNT/PATH` of the live cluster split at its mount (`--as`): the cluster says where its mount ends. */
export async function liveKvPath(
  vault: VaultClient,
  spec: string,
): Promise<{ mount: string; path: string; kind?: 'kv1' | 'kv2' }> {
  const m = await vault.read<UiMount>(`sys/internal/ui/mounts/${spec}`).catch(() => undefined);
  const mountPath = m?.data?.path;
  if (!mountPath || !spec.startsWith(mountPath) || spec.length === mountPath.length)
    throw new VaultOpsError(
      'usage',
      `the live cluster has no KV mount holding ${spec} (or the token may not see it): --as takes MOUNT/PATH of ` +
        'a live KV mount',
    );
  const kind = kindOf(m.data);
  return { mount: mountPath.replace(/\/$/, ''), path: spec.slice(mountPath.length), ...(kind ? { kind } : {}) };
}

/** Which keys the snapshot's values add, remove and change against the live ones (names only). */
export function keyChanges(
  snapshot: SecretData | undefined,
  live: SecretData | undefined,
): { added: string[]; removed: string[]; changed: string[]; unchanged: number } {
  const s = snapshot ?? {};
  const l = live ?? {};
  const added = Object.keys(s).filter((k) => !(k in l));
  const removed = Object.keys(l).filter((k) => !(k in s));
  const common = Object.keys(s).filter((k) => k in l);
  const changed = common.filter((k) => JSON.stringify(s[k]) !== JSON.stringify(l[k]));
  return {
    added: added.sort(),
    removed: removed.sort(),
    changed: changed.sort(),
    unchanged: common.length - changed.length,
  };
}
