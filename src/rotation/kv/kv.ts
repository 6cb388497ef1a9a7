import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import type { VaultClient } from '../../vault/client.js';
import type { MetaPatch } from './state.js';

/**
 * The KV v2 calls rotation needs, on top of VaultClient (which maps every failure to a
 * VaultOpsError). "Not found" is `undefined`, a failed check-and-set is a `CasMismatch`.
 */

export interface KvVersionInfo {
  created: Date;
  deleted: boolean;
  destroyed: boolean;
}

export interface KvMetadata {
  currentVersion: number;
  /** OpenBao ≥ 2.4 counts metadata writes (`current_metadata_version`) and accepts `metadata_cas`. */
  metadataVersion?: number;
  customMetadata: Record<string, string>;
  maxVersions: number;
  versions: Map<number, KvVersionInfo>;
}

export interface KvData {
  data: Record<string, unknown>;
  version: number;
}

/** A check-and-set write lost: the secret (or its metadata) changed since it was read. */
export class CasMismatch extends Error {
  override readonly name = 'CasMismatch';
  constructor(
    readonly what: 'data' | 'metadata',
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} check-and-set failed at ${location}`, options);
  }
}

export interface MountInfo {
  /** Mount path with a trailing slash, as Vault reports it. */
  path: string;
  type: string;
  version?: string;
}

function isNotFound(err: unknown): boolean {
  return isVaultOpsError(err) && err.code === 'not-found';
}

const dataCasRe = /check-and-set parameter did not match/i;
const metadataCasRe = /metadata check-and-set parameter does not match/i;

export class KvV2 {
  constructor(readonly client: VaultClient) {}

  async readMetadata(mount: string, path: string): Promise<KvMetadata | undefined> {
    let body: { data?: Record<string, unknown> };
    try {
      body = await this.client.read(`${mount}/metadata/${path}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const d = body.data ?? {};
    const versions = new Map<number, KvVersionInfo>();
    for (const [k, v] of Object.entries(
      (d.versions ?? {}) as Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>,
    )) {
      versions.set(Number(k), {
        created: new Date(v.created_time ?? 0),
        deleted: !!v.deletion_time,
        destroyed: !!v.destroyed,
      });
    }
    return {
      currentVersion: Number(d.current_version ?? 0),
      ...(typeof d.current_metadata_version === 'number' ? { metadataVersion: d.current_metadata_version } : {}),
      customMetadata: (d.custom_metadata ?? {}) as Record<string, string>,
      maxVersions: Number(d.max_versions ?? 0),
      versions,
    };
  }

  /** One version (default: current). `undefined` when the secret, or that version, is absent, deleted or destroyed. */
  async readData(mount: string, path: string, version?: number): Promise<KvData | undefined> {
    let body: { data?: { data?: Record<string, unknown> | null; metadata?: { version?: number } } };
    try {
      body = await this.client.read(`${mount}/data/${path}${version !== undefined ? `?version=${version}` : ''}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const data = body.data?.data;
    if (!data) return undefined;
    return { data, version: Number(body.data?.metadata?.version ?? 0) };
  }

  /** Write a whole new version; `cas` 0 creates only. Returns the new version. */
  async writeData(mount: string, path: string, data: Record<string, unknown>, cas?: number): Promise<number> {
    try {
      const body = await this.client.write<{ data?: { version?: number } }>(`${mount}/data/${path}`, {
        data,
        ...(cas !== undefined ? { options: { cas } } : {}),
      });
      return Number(body.data?.version ?? 0);
    } catch (err) {
      if (isVaultOpsError(err) && dataCasRe.test(err.message))
        throw new CasMismatch('data', `${mount}/${path}`, { cause: err });
      throw err;
    }
  }

  /** Merge `data` into the current version (other keys kept), only if it is still `cas`. */
  async patchData(mount: string, path: string, data: Record<string, unknown>, cas: number): Promise<number> {
    try {
      const body = await this.client.patch<{ data?: { version?: number } }>(`${mount}/data/${path}`, {
        data,
        options: { cas },
      });
      return Number(body.data?.version ?? 0);
    } catch (err) {
      if (isVaultOpsError(err) && dataCasRe.test(err.message))
        throw new CasMismatch('data', `${mount}/${path}`, { cause: err });
      throw err;
    }
  }

  /**
   * Merge into custom_metadata (null removes a key) and optionally set max_versions. With
   * `metadataCas` (only where the server reports `current_metadata_version`), the write fails
   * with CasMismatch if anyone else wrote the metadata since.
   */
  async patchMetadata(
    mount: string,
    path: string,
    patch: { custom?: MetaPatch; maxVersions?: number; metadataCas?: number },
  ): Promise<void> {
    const body: Record<string, unknown> = {};
    if (patch.custom) body.custom_metadata = patch.custom;
    if (patch.maxVersions !== undefined) body.max_versions = patch.maxVersions;
    if (patch.metadataCas !== undefined) body.metadata_cas = patch.metadataCas;
    try {
      await this.client.patch(`${mount}/metadata/${path}`, body);
    } catch (err) {
      if (isVaultOpsError(err) && metadataCasRe.test(err.message))
        throw new CasMismatch('metadata', `${mount}/${path}`, { cause: err });
      throw err;
    }
  }

  /** Delete every version and the metadata (idempotent). */
  async deleteAll(mount: string, path: string): Promise<void> {
    try {
      await this.client.delete(`${mount}/metadata/${path}`);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** The mount holding `path` (any token with a capability on the path may ask). */
  async mountOf(path: string): Promise<MountInfo | undefined> {
    try {
      const body = await this.client.read<{
        data?: { path?: string; type?: string; options?: { version?: string } | null };
      }>(`sys/internal/ui/mounts/${path}`);
      const d = body.data ?? {};
      if (!d.path) return undefined;
      return { path: d.path, type: d.type ?? '', ...(d.options?.version ? { version: d.options.version } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (isVaultOpsError(err) && err.code === 'vault-permission') return undefined;
      throw err;
    }
  }

  /** A password from a Vault password policy (sys/policies/password/<name>/generate). */
  async generatePassword(policy: string): Promise<string> {
    try {
      const body = await this.client.read<{ data?: { password?: string } }>(`sys/policies/password/${policy}/generate`);
      const password = body.data?.password;
      if (!password) throw new VaultOpsError('vault-request', `password policy ${policy} returned no password`);
      return password;
    } catch (err) {
      if (isNotFound(err)) {
        throw new VaultOpsError(
          'config',
          `password policy ${policy} does not exist: create it (vault write sys/policies/password/${policy} ` +
            `policy=@policy.hcl) or fix passwordPolicy`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}
