import { VaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { VaultClient } from '../vault/client.js';
import { type RawMountEntry, rawList } from '../verify/raw-storage.js';
import { decryptListedName, metadataKeyPath } from './kv2-key-paths.js';
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
  const specs: string[] = [];
  for (const spec of options.paths) {
    if (!spec.endsWith('/*')) specs.push(spec);
    else if (options.as !== undefined)
      throw new VaultOpsError('usage', `--as writes one secret beside the live one: not a subtree (${spec})`);
    else specs.push(...(await expandSubtree(raw, mounts, spec, kv2, manifest)));
  }
  for (const spec of specs) {
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

/**
 * `MOUNT/PREFIX/*`: every KV secret under PREFIX in the snapshot, at any depth. KV v2 lists its metadata
 * folder, whose names are encrypted segment by segment (decrypted with the mount's name policy, each in
 * its folder's context); KV v1 keeps plain names.
 */
async function expandSubtree(
  raw: VaultClient,
  mounts: RawMountEntry[],
  spec: string,
  kv2: Map<string, Kv2Storage | undefined>,
  manifest: SnapshotManifest,
): Promise<string[]> {
  const { mount, path } = kvMountOf(mounts, spec);
  const prefix = path.replace(/\*$/, '').replace(/\/+$/, '');
  const found: string[] = [];
  if (mount.kind === 'kv1') {
    const walk = async (folder: string): Promise<void> => {
      for (const name of await rawList(raw, `logical/${mount.entry.uuid}/${folder ? `${folder}/` : ''}`)) {
        const child = folder ? `${folder}/${name.replace(/\/$/, '')}` : name.replace(/\/$/, '');
        if (name.endsWith('/')) await walk(child);
        else found.push(child);
      }
    };
    await walk(prefix);
  } else {
    if (!kv2.has(mount.path)) kv2.set(mount.path, await openKv2Storage(raw, mount));
    const storage = kv2.get(mount.path);
    const walk = async (folder: string): Promise<void> => {
      if (!storage) return;
      const stored = folder
        ? metadataKeyPath(storage.policy, storage.backendUuid, folder)
        : `${storage.backendUuid}/metadata`;
      for (const listed of await rawList(raw, `${storage.base}/${stored}/`)) {
        const name = decryptListedName(storage.policy, storage.backendUuid, folder, listed);
        if (name === undefined) continue;
        const child = folder ? `${folder}/${name.replace(/\/$/, '')}` : name.replace(/\/$/, '');
        if (name.endsWith('/')) await walk(child);
        else found.push(child);
      }
    };
    await walk(prefix);
  }
  if (found.length === 0) throw notInSnapshot(`secret under ${spec.slice(0, -2)}/`, manifest);
  return found.sort().map((p) => `${mount.path}/${p}`);
}

function notInSnapshot(what: string, manifest: SnapshotManifest): VaultOpsError {
  return new VaultOpsError(
    'not-found',
    `snapshot ${manifest.id} (${manifest.createdAt}) holds no ${what}: check the name, or find the snapshots that ` +
      'hold it (vault-ops snapshot history --path …)',
  );
}
