import { z } from 'zod';
import { VaultOpsError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';
import { type RawMountEntry, rawRead, rawReadBytes, readRawMountTable } from '../verify/raw-storage.js';
import { type MetadataPolicy, MetadataPolicySchema, metadataKeyPath, versionKeyPath } from './kv2-key-paths.js';
import { type Kv2KeyMetadata, decodeKeyMetadata, decodeVersion } from './kv2-proto.js';

/**
 * Reading items out of the restored copy, opened in recovery mode: nothing is mounted and nothing runs,
 * only the barrier answers through sys/raw. Values stay in memory, never in a message.
 */

/** A secret's values: a JSON object of strings, numbers, objects… */
export type SecretData = Record<string, unknown>;

const SecretDataSchema = z.record(z.string(), z.unknown());

export interface SnapshotMount {
  /** Without its trailing slash (`secret`, `team/kv`). */
  path: string;
  kind: 'kv1' | 'kv2';
  entry: RawMountEntry;
}

/** The KV mount of the snapshot holding `spec` (`MOUNT/PATH`): the longest mount path it starts with. */
export function kvMountOf(mounts: RawMountEntry[], spec: string): { mount: SnapshotMount; path: string } {
  const match = mounts
    .filter((m) => spec.startsWith(m.path) && spec.length > m.path.length)
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!match)
    throw new VaultOpsError('not-found', `no mount of the snapshot holds ${spec}: give MOUNT/PATH of a KV secret`);
  const kv = match.type === 'kv' || match.type === 'generic' || match.type === 'kv-v2';
  if (!kv)
    throw new VaultOpsError(
      'usage',
      `${spec} is in mount ${match.path} of type ${match.type}: --path recovers KV secrets (policies: --policy NAME)`,
    );
  const kind = match.type === 'kv-v2' || match.version === '2' ? 'kv2' : 'kv1';
  return { mount: { path: match.path.replace(/\/$/, ''), kind, entry: match }, path: spec.slice(match.path.length) };
}

export async function snapshotMounts(raw: VaultClient): Promise<RawMountEntry[]> {
  return await readRawMountTable(raw, 'mounts');
}

function parseData(bytes: Buffer, what: string): SecretData {
  const parsed = SecretDataSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) throw new VaultOpsError('verification', `${what} in the snapshot is not a JSON object`);
  return parsed.data;
}

/** A KV v1 secret of the snapshot, or undefined when it holds none at that path. */
export async function readKv1(raw: VaultClient, mount: SnapshotMount, path: string): Promise<SecretData | undefined> {
  const bytes = await rawReadBytes(raw, `logical/${mount.entry.uuid}/${path}`);
  return bytes ? parseData(bytes, `${mount.path}/${path}`) : undefined;
}

/** One KV v2 mount's keys to its storage (its name policy and salt), read once per mount. */
export interface Kv2Storage {
  base: string;
  backendUuid: string;
  policy: MetadataPolicy;
  salt: string;
}

export async function openKv2Storage(raw: VaultClient, mount: SnapshotMount): Promise<Kv2Storage | undefined> {
  const backendUuid = mount.entry.backendUuid;
  if (!backendUuid)
    throw new VaultOpsError(
      'verification',
      `mount ${mount.path}/ of the snapshot has no backend uuid in its mount entry`,
    );
  const base = `logical/${mount.entry.uuid}`;
  const policyBytes = await rawReadBytes(raw, `${base}/${backendUuid}/policy/metadata`);
  const salt = await rawReadBytes(raw, `${base}/${backendUuid}/salt`);
  // A KV v2 mount that never held a secret has neither yet.
  if (!policyBytes || !salt) return undefined;
  const policy = MetadataPolicySchema.safeParse(JSON.parse(policyBytes.toString('utf8')));
  if (!policy.success)
    throw new VaultOpsError(
      'verification',
      `the KV v2 mount ${mount.path}/ of the snapshot keeps its names in a way vault-ops does not read ` +
        `(${policy.error.issues.map((i) => i.message).join('; ')})`,
    );
  return { base, backendUuid, policy: policy.data, salt: salt.toString('utf8') };
}

export async function readKv2Metadata(
  raw: VaultClient,
  storage: Kv2Storage,
  path: string,
): Promise<Kv2KeyMetadata | undefined> {
  const bytes = await rawReadBytes(
    raw,
    `${storage.base}/${metadataKeyPath(storage.policy, storage.backendUuid, path)}`,
  );
  return bytes ? decodeKeyMetadata(bytes) : undefined;
}

/** The values of one version; undefined when the snapshot no longer holds them (destroyed, pruned). */
export async function readKv2Version(
  raw: VaultClient,
  storage: Kv2Storage,
  path: string,
  version: number,
): Promise<SecretData | undefined> {
  const bytes = await rawReadBytes(
    raw,
    `${storage.base}/${versionKeyPath(storage.salt, storage.backendUuid, path, version)}`,
  );
  if (!bytes) return undefined;
  return parseData(decodeVersion(bytes).data, `version ${version} of ${path}`);
}

/** vault/policy_store.go PolicyEntry (no JSON tags: Go's field names), both flavours. */
const PolicyEntrySchema = z.object({ Raw: z.string(), Type: z.number().int().optional() });

/** An ACL policy's text in the snapshot (stored at `sys/policy/<name>`), or undefined. */
export async function readPolicy(raw: VaultClient, name: string): Promise<string | undefined> {
  const value = await rawRead(raw, `sys/policy/${name}`);
  if (value === undefined) return undefined;
  const parsed = PolicyEntrySchema.safeParse(JSON.parse(value));
  if (!parsed.success) throw new VaultOpsError('verification', `policy ${name} in the snapshot is not a policy entry`);
  if ((parsed.data.Type ?? 0) !== 0)
    throw new VaultOpsError(
      'usage',
      `policy ${name} in the snapshot is not an ACL policy: --policy recovers ACL policies`,
    );
  return parsed.data.Raw;
}
