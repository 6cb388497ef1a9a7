import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import type { VaultClient } from '../vault/client.js';
import { readRaftPosition } from '../vault/sys.js';
import {
  fingerprint,
  keyChanges,
  liveKvMount,
  liveKvPath,
  readLiveKv1,
  readLiveKv2,
  readLivePolicy,
  readLiveRole,
} from './live-side.js';
import { withSnapshotCopy } from './read-snapshot.js';
import { roleChanges } from './roles.js';
import { type SnapshotItem, readSnapshotItems } from './snapshot-side.js';
import type { SecretData } from './snapshot-items.js';
import type { PlannedItem, RecoverDeps, RecoverOptions, RecoveryPlan } from './types.js';

/** A planned write's values, kept apart from the printable plan (which never holds one). */
interface PendingWrite {
  mount: string;
  path: string;
  data?: SecretData;
  policy?: string;
  customMetadata?: Record<string, string>;
  role?: Record<string, unknown>;
  roleId?: string;
  /** KV v1, policies and roles (no check-and-set): the live item's digest at plan time. */
  liveFingerprint?: string;
}

/** The plan, and what executing it writes (`writes[i]` belongs to `plan.items[i]`). */
export interface PreparedRecovery {
  plan: RecoveryPlan;
  readonly writes: readonly PendingWrite[];
}

export interface RecoveredItem {
  kind: PlannedItem['kind'];
  target: string;
  written: boolean;
  /** KV v2: the live version the write created. */
  version?: number;
}

export interface RecoveryResult {
  plan: RecoveryPlan;
  items: RecoveredItem[];
  /**
   * Where the writes sit in the live cluster's raft log (its applied index read just before and just
   * after them): the record carries it, so that a later restore orders the recovery against its snapshot.
   */
  raft: { clusterId?: string; indexBefore?: number; indexAfter?: number };
  timings: RecoveryPlan['timings'] & { write: number };
}

const seconds = (ms: number) => Math.round(ms) / 1000;

function checkOptions(options: RecoverOptions): void {
  if (options.paths.length === 0 && options.policies.length === 0)
    throw new VaultOpsError('usage', 'nothing to recover: give --path MOUNT/PATH or --policy NAME');
  if (options.as !== undefined && (options.paths.length !== 1 || options.policies.length > 0))
    throw new VaultOpsError('usage', '--as recovers one KV secret: give exactly one --path with it');
}

/** The signature check comes before anything is read: an untrusted snapshot steers nothing. */
function checkSignature(deps: RecoverDeps, manifest: SnapshotManifest): string {
  const keys = deps.repository.trust.verifyKeys;
  if (keys.length === 0) return 'unsigned store (no --verify-key): not checked';
  try {
    verifyManifestSignature(manifest, keys);
  } catch (err) {
    throw new VaultOpsError(
      'verification',
      `${(err as Error).message}; nothing was read or written: recover from a snapshot the store's key signed`,
    );
  }
  return `signed by ${manifest.signature?.keyId}`;
}

/**
 * Read every item from the snapshot (in a recovery-mode scratch copy) and from the live cluster, and
 * plan the writes. Nothing is written; the plan says, per item, both sides and which keys change.
 */
export async function planRecovery(deps: RecoverDeps, options: RecoverOptions): Promise<PreparedRecovery> {
  checkOptions(options);
  const manifest = await deps.repository.find(options.snapshot, deps.signal ? { signal: deps.signal } : {});
  const signature = checkSignature(deps, manifest);
  const { result: items, timings } = await withSnapshotCopy(deps, options, manifest, (raw) =>
    readSnapshotItems(raw, options, manifest, deps.secrets),
  );
  const t = Date.now();
  const planned: PlannedItem[] = [];
  const writes: PendingWrite[] = [];
  for (const item of items) {
    const [p, w] = await planItem(deps, item);
    planned.push(p);
    writes.push(w);
  }
  return {
    plan: {
      snapshot: {
        id: manifest.id,
        createdAt: manifest.createdAt,
        ...(manifest.cluster.name ? { clusterName: manifest.cluster.name } : {}),
        ...(manifest.cluster.id ? { clusterId: manifest.cluster.id } : {}),
        signature,
      },
      target: { address: deps.vault.address },
      items: planned,
      timings: { ...timings, plan: seconds(Date.now() - t) },
    },
    writes,
  };
}

async function planItem(deps: RecoverDeps, item: SnapshotItem): Promise<[PlannedItem, PendingWrite]> {
  const { vault, secrets } = deps;
  const base = { kind: item.kind, item: item.item, target: item.target, snapshot: item.side };
  if (item.role) {
    const live = await readLiveRole(vault, secrets, item.path, item.kind === 'approle-role');
    const keys = roleChanges(item.role, live?.body);
    if (live && item.roleId && live.roleId !== item.roleId) keys.changed.push('role_id');
    const same = live !== undefined && keys.added.length + keys.changed.length === 0;
    return [
      { ...base, live: { present: live !== undefined }, keys, action: same ? 'unchanged' : 'write' },
      {
        mount: '',
        path: item.path,
        role: item.role,
        ...(item.roleId ? { roleId: item.roleId } : {}),
        liveFingerprint: fingerprint(live),
      },
    ];
  }
  if (item.kind === 'policy') {
    const live = await readLivePolicy(vault, item.path);
    const same = live === item.policy;
    return [
      {
        ...base,
        live: { present: live !== undefined },
        keys: { added: [], removed: [], changed: same ? [] : ['policy'], unchanged: same ? 1 : 0 },
        action: same ? 'unchanged' : 'write',
      },
      { mount: 'sys/policies/acl', path: item.path, policy: item.policy!, liveFingerprint: fingerprint(live) },
    ];
  }
  // The item goes back where it was, or where --as says: a path in whatever live mount holds it.
  const {
    mount,
    path,
    kind: liveKind,
  } = item.target === item.item
    ? { ...(await liveKvMount(vault, item.mount)), path: item.path }
    : await liveKvPath(vault, item.target);
  if (liveKind && liveKind !== item.kind)
    throw new VaultOpsError(
      'usage',
      `${item.target}: the live mount ${mount}/ is KV ${liveKind === 'kv2' ? 'v2' : 'v1'}, the snapshot's ` +
        `${item.item} is KV ${item.kind === 'kv2' ? 'v2' : 'v1'}: recover it elsewhere with --as MOUNT/PATH`,
    );
  if (item.kind === 'kv1') {
    const live = await readLiveKv1(vault, secrets, mount, path);
    const keys = keyChanges(item.data, live);
    const same = live !== undefined && keys.added.length + keys.removed.length + keys.changed.length === 0;
    return [
      { ...base, live: { present: live !== undefined }, keys, action: same ? 'unchanged' : 'write' },
      { mount, path, data: item.data!, liveFingerprint: fingerprint(live) },
    ];
  }
  const live = await readLiveKv2(vault, secrets, mount, path);
  const keys = keyChanges(item.data, live.data);
  const current = live.side.present && !live.side.deleted && !live.side.destroyed;
  const same = current && keys.added.length + keys.removed.length + keys.changed.length === 0;
  // Custom metadata lives beside the versions: a live secret keeps its own; one whose metadata was deleted
  // whole gets the snapshot's back.
  const restoreMetadata = !live.side.present && Object.keys(item.customMetadata ?? {}).length > 0;
  return [
    {
      ...base,
      live: live.side,
      keys,
      action: same ? 'unchanged' : 'write',
      cas: live.side.version ?? 0,
      ...(restoreMetadata ? { customMetadataRestored: Object.keys(item.customMetadata!).sort() } : {}),
    },
    {
      mount,
      path,
      data: item.data!,
      ...(restoreMetadata ? { customMetadata: item.customMetadata! } : {}),
    },
  ];
}

/** A write the live cluster refused because the item changed since the plan: nothing of it was written. */
function changedSincePlan(target: string, done: RecoveredItem[], why: string): VaultOpsError {
  const written = done.filter((d) => d.written).map((d) => d.target);
  return new VaultOpsError(
    'verification',
    `${target} changed in the live cluster after the plan (${why}): nothing was written to it` +
      `${written.length ? ` (already recovered: ${written.join(', ')})` : ''}; run recover again to plan against ` +
      'the live state as it is now',
  );
}

/** Write the planned items into the live cluster, each only if it is still as the plan read it. */
export async function executeRecovery(deps: RecoverDeps, prepared: PreparedRecovery): Promise<RecoveryResult> {
  const t = Date.now();
  const before = await readRaftPosition(deps.vault);
  const done: RecoveredItem[] = [];
  for (const [i, item] of prepared.plan.items.entries()) {
    const w = prepared.writes[i]!;
    if (item.action === 'unchanged') {
      done.push({ kind: item.kind, target: item.target, written: false });
      continue;
    }
    if (item.kind === 'kv2') {
      const version = await writeKv2(deps.vault, item, w, done);
      if (w.customMetadata)
        await deps.vault.write(`${w.mount}/metadata/${w.path}`, { custom_metadata: w.customMetadata });
      done.push({ kind: item.kind, target: item.target, written: true, version });
      continue;
    }
    // No check-and-set for KV v1, policies and roles: read again right before writing, and refuse a change.
    const now = w.role
      ? await readLiveRole(deps.vault, deps.secrets, w.path, item.kind === 'approle-role')
      : item.kind === 'kv1'
        ? await readLiveKv1(deps.vault, deps.secrets, w.mount, w.path)
        : await readLivePolicy(deps.vault, w.path);
    if (fingerprint(now) !== w.liveFingerprint) throw changedSincePlan(item.target, done, 'it was written since');
    if (w.role) {
      await deps.vault.write(w.path, w.role);
      if (w.roleId) await deps.vault.write(`${w.path}/role-id`, { role_id: w.roleId });
    } else if (item.kind === 'kv1') await deps.vault.write(`${w.mount}/${w.path}`, w.data);
    else await deps.vault.write(`sys/policies/acl/${w.path}`, { policy: w.policy });
    done.push({ kind: item.kind, target: item.target, written: true });
  }
  const after = await readRaftPosition(deps.vault);
  return {
    plan: prepared.plan,
    items: done,
    raft: {
      ...(after.clusterId ? { clusterId: after.clusterId } : {}),
      ...(before.appliedIndex !== undefined ? { indexBefore: before.appliedIndex } : {}),
      ...(after.appliedIndex !== undefined ? { indexAfter: after.appliedIndex } : {}),
    },
    timings: { ...prepared.plan.timings, write: seconds(Date.now() - t) },
  };
}

async function writeKv2(
  vault: VaultClient,
  item: PlannedItem,
  w: PendingWrite,
  done: RecoveredItem[],
): Promise<number> {
  try {
    const r = await vault.write<{ data?: { version?: number } }>(`${w.mount}/data/${w.path}`, {
      data: w.data,
      options: { cas: item.cas ?? 0 },
    });
    return r.data?.version ?? 0;
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-request' && /check-and-set/i.test(err.detail ?? err.message))
      throw changedSincePlan(item.target, done, `its version is no longer ${item.cas}`);
    throw err;
  }
}
