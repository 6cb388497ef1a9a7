import { isVaultOpsError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';

/**
 * Reads of a recovery-mode server's storage through `sys/raw` (the only API it serves). Layout,
 * as Vault and OpenBao keep it (read in their sources):
 * - mount and auth tables: OpenBao on transactional storage (raft) keeps one entry per mount at
 *   `core/mounts/<uuid>` / `core/auth/<uuid>`; Vault and older layouts one JSON table at
 *   `core/mounts` / `core/auth` (`{"entries": [...]}`); both are read. Local mounts and local
 *   auth methods live in `core/local-mounts` / `core/local-auth`. sys/raw decompresses.
 * - ACL policies: `sys/policy/<name>` (the built-in `root` policy is not stored).
 * - a mount's data: `logical/<mount uuid>/…` (auth methods: `auth/<uuid>/…`).
 */
export interface RawMountEntry {
  path: string;
  type: string;
  uuid: string;
  /** The uuid a backend keys its own storage with (KV v2: `logical/<uuid>/<backend-aware uuid>/…`). */
  backendUuid?: string;
  /** `options.version` (KV: '1' or '2'). */
  version?: string;
}

interface RawRead {
  data?: { value?: string };
}
interface RawList {
  data?: { keys?: string[] };
}

export async function rawRead(client: VaultClient, path: string): Promise<string | undefined> {
  try {
    const r = await client.read<RawRead>(`sys/raw/${path}`);
    return r?.data?.value;
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'not-found') return undefined;
    throw err;
  }
}

export async function rawList(client: VaultClient, path: string): Promise<string[]> {
  try {
    const r = await client.list<RawList>(`sys/raw/${path}`);
    return r?.data?.keys ?? [];
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'not-found') return [];
    throw err;
  }
}

/**
 * A value exactly as its backend stored it: `encoding=base64` (the default answer is the bytes as a
 * string, which mangles anything not UTF-8) and `compressed=false` (by default sys/raw decompresses a
 * value whose first byte is a compression canary, and fails on a backend's own value that merely
 * starts with one: a KV v2 salt is a UUID, `4…` is LZ4's canary). Both flavours take both parameters.
 */
export async function rawReadBytes(client: VaultClient, path: string): Promise<Buffer | undefined> {
  const value = await rawRead(client, `${path}?encoding=base64&compressed=false`);
  return value === undefined ? undefined : Buffer.from(value, 'base64');
}

function toEntry(raw: unknown): RawMountEntry | undefined {
  const e = raw as {
    path?: unknown;
    type?: unknown;
    uuid?: unknown;
    namespace_id?: unknown;
    backend_aware_uuid?: unknown;
    options?: { version?: unknown } | null;
  };
  if (typeof e?.path !== 'string' || typeof e.type !== 'string') return undefined;
  // Only the root namespace is compared (the manifest reads the root namespace's tables).
  if (typeof e.namespace_id === 'string' && e.namespace_id !== '' && e.namespace_id !== 'root') return undefined;
  return {
    path: e.path,
    type: e.type,
    uuid: typeof e.uuid === 'string' ? e.uuid : '',
    ...(typeof e.backend_aware_uuid === 'string' ? { backendUuid: e.backend_aware_uuid } : {}),
    ...(typeof e.options?.version === 'string' ? { version: e.options.version } : {}),
  };
}

/**
 * Every entry of one storage table, in either layout: one entry per key under `<base>/`
 * (OpenBao's transactional layout) or one JSON table at `<base>` (Vault; OpenBao before it).
 */
async function readRawTable(client: VaultClient, base: string): Promise<RawMountEntry[]> {
  const entries: RawMountEntry[] = [];
  for (const uuid of await rawList(client, `${base}/`)) {
    if (uuid.endsWith('/')) continue;
    const value = await rawRead(client, `${base}/${uuid}`);
    const entry = value ? toEntry(JSON.parse(value)) : undefined;
    if (entry) entries.push(entry);
  }
  if (entries.length > 0) return entries;
  const table = await rawRead(client, base);
  if (!table) return entries;
  const parsed = JSON.parse(table) as { entries?: unknown[] };
  for (const e of parsed.entries ?? []) {
    const entry = toEntry(e);
    if (entry) entries.push(entry);
  }
  return entries;
}

/**
 * `table`: 'mounts' (secret engines) or 'auth'. Both flavours keep local mounts (`cubbyhole/`,
 * anything mounted with `-local`) and local auth methods apart from the replicated tables, in
 * `core/local-mounts` and `core/local-auth` (Vault: one table each; read in vault/mount.go and
 * vault/auth.go of both servers): the API lists both, so the drill reads both.
 */
export async function readRawMountTable(client: VaultClient, table: 'mounts' | 'auth'): Promise<RawMountEntry[]> {
  const entries = await readRawTable(client, `core/${table}`);
  for (const entry of await readRawTable(client, `core/local-${table}`)) {
    if (!entries.some((x) => x.path === entry.path)) entries.push(entry);
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export async function listRawPolicies(client: VaultClient): Promise<string[]> {
  return (await rawList(client, 'sys/policy/')).filter((k) => !k.endsWith('/')).sort();
}

/** A KV v1 value stored by a mount (JSON of its data), or undefined. */
export async function readRawKvV1(
  client: VaultClient,
  mountUuid: string,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  const value = await rawRead(client, `logical/${mountUuid}/${path}`);
  return value ? (JSON.parse(value) as Record<string, unknown>) : undefined;
}

/**
 * Forget the source cluster's active node in restored data: the HA lock (`core/lock`, written
 * below the barrier by the raft backend, hence deletable through sys/raw) and the leader
 * advertisements it points to (`core/leader/<uuid>`, each with that node's cluster address).
 * A restored copy that still holds them starts as a standby of the source's active node and
 * dials its cluster port (vault/ha.go, physical/raft RaftLock.Value, read in both sources).
 */
export async function forgetSourceActiveNode(client: VaultClient): Promise<void> {
  await client.delete('sys/raw/core/lock');
  for (const key of await rawList(client, 'core/leader/'))
    if (!key.endsWith('/')) await client.delete(`sys/raw/core/leader/${key}`);
}
