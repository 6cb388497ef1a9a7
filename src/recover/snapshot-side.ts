import { VaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { VaultClient } from '../vault/client.js';
import { registerValues } from './live-side.js';
import {
  type Kv2Storage,
  type SecretData,
  kvMountOf,
  openKv2Storage,
  readKv1,
  readKv2Metadata,
  readKv2Version,
  readPolicy,
  snapshotMounts,
} from './snapshot-items.js';
import { type RoleBody, readRole, roleRef } from './roles.js';
import type { ItemKind, ItemSide, RecoverOptions } from './types.js';

/** One item as the snapshot holds it: where it was, its metadata, and (kept out of every output) its values. */
export interface SnapshotItem {
  kind: ItemKind;
  item: string;
  /** Where it is to be written (`--as`, or the item itself). */
  target: string;
  /** The snapshot's mount (KV) and the path in it; for a policy, `sys/policy` and its name. */
  mount: string;
  path: string;
  side: ItemSide;
  data?: SecretData;
  policy?: string;
  customMetadata?: Record<string, string>;
  /** Roles: the API body (never a password) and approle's role id. */
  role?: RoleBody;
  roleId?: string;
}

const iso = (d: Date | undefined) => d?.toISOString();

/** Every item asked for, read from the recovery-mode copy; a missing one stops the recovery before any write. */
export async function readSnapshotItems(
  raw: VaultClient,
  options: RecoverOptions,
  manifest: SnapshotManifest,
  secrets: SecretRegistry,
): Promise<SnapshotItem[]> {
  const items: SnapshotItem[] = [];
  const mounts = options.paths.length ? await snapshotMounts(raw) : [];
  const kv2 = new Map<string, Kv2Storage | undefined>();
  for (const spec of options.paths) {
    const ref = await roleRef(raw, spec, mounts);
    if (ref) {
      if (options.as !== undefined || options.version !== undefined)
        throw new VaultOpsError('usage', `${spec} is a role: --as and --version are for KV secrets`);
      const role = await readRole(raw, ref);
      if (!role) throw notInSnapshot(spec, manifest);
      secrets.add(role.roleId);
      items.push({
        kind: ref.kind,
        item: spec,
        target: spec,
        mount: '',
        path: ref.apiPath,
        side: { present: true },
        role: role.body,
        ...(role.roleId ? { roleId: role.roleId } : {}),
      });
      continue;
    }
    const { mount, path } = kvMountOf(mounts, spec);
    const base = { item: spec, target: options.as ?? spec, mount: mount.path, path };
    if (mount.kind === 'kv1') {
      if (options.version !== undefined)
        throw new VaultOpsError('usage', `${spec} is a KV v1 secret: it has no versions (drop --version)`);
      const data = await readKv1(raw, mount, path);
      if (!data) throw notInSnapshot(spec, manifest);
      registerValues(secrets, data);
      items.push({ kind: 'kv1', ...base, side: { present: true }, data });
      continue;
    }
    if (!kv2.has(mount.path)) kv2.set(mount.path, await openKv2Storage(raw, mount));
    const storage = kv2.get(mount.path);
    const metadata = storage ? await readKv2Metadata(raw, storage, path) : undefined;
    if (!storage || !metadata) throw notInSnapshot(spec, manifest);
    const version = options.version ?? metadata.currentVersion;
    const v = metadata.versions.find((x) => x.version === version);
    if (!v)
      throw new VaultOpsError(
        'not-found',
        `snapshot ${manifest.id} holds versions ${metadata.versions.map((x) => x.version).join(', ') || 'none'} ` +
          `of ${spec}, not ${version}: pick one of them (--version N) or another snapshot (vault-ops snapshot history)`,
      );
    if (v.destroyed)
      throw new VaultOpsError(
        'not-found',
        `version ${version} of ${spec} was already destroyed in snapshot ${manifest.id}: pick another version or ` +
          'snapshot (vault-ops snapshot history)',
      );
    const data = await readKv2Version(raw, storage, path, version);
    if (!data)
      throw new VaultOpsError(
        'verification',
        `snapshot ${manifest.id} lists version ${version} of ${spec} but does not hold its data: pick another ` +
          'version or snapshot',
      );
    registerValues(secrets, data);
    const deleted = !!v.deletionTime && v.deletionTime.getTime() <= Date.parse(manifest.createdAt);
    items.push({
      kind: 'kv2',
      ...base,
      side: {
        present: true,
        version,
        ...(iso(v.createdTime) ? { time: iso(v.createdTime)! } : {}),
        deleted,
        destroyed: false,
      },
      data,
      customMetadata: metadata.customMetadata,
    });
  }
  for (const name of options.policies) {
    const policy = await readPolicy(raw, name);
    if (policy === undefined) throw notInSnapshot(`policy ${name}`, manifest);
    items.push({
      kind: 'policy',
      item: `policy ${name}`,
      target: `policy ${name}`,
      mount: 'sys/policy',
      path: name,
      side: { present: true },
      policy,
    });
  }
  return items;
}

function notInSnapshot(what: string, manifest: SnapshotManifest): VaultOpsError {
  return new VaultOpsError(
    'not-found',
    `snapshot ${manifest.id} (${manifest.createdAt}) holds no ${what}: check the name, or find the snapshots that ` +
      'hold it (vault-ops snapshot history --path …)',
  );
}
