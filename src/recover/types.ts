import type { Logger } from '../observability/logger.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import type { VaultClient } from '../vault/client.js';

export interface RecoverDeps {
  repository: SnapshotRepository;
  /** The live cluster, authenticated: read at plan time, written after the confirmation. */
  vault: VaultClient;
  logger: Logger;
  /** Every value read from the snapshot is registered here, so that no log line or error can carry it. */
  secrets: SecretRegistry;
  toolVersion: string;
  signal?: AbortSignal;
}

export interface RecoverOptions {
  /** A snapshot id or `latest`. */
  snapshot: string;
  /**
   * `MOUNT/PATH` of KV secrets (v1 or v2, as the snapshot's mount table says), `auth/MOUNT/role/NAME` of
   * kubernetes and approle roles, `MOUNT/static-roles/NAME` of database static roles.
   */
  paths: string[];
  /** ACL policy names. */
  policies: string[];
  /** KV v2: this version of the snapshot's history instead of its current one. */
  version?: number;
  /** KV: write the (single) item here, beside the live one, instead of over it. */
  as?: string;
  /** vault/bao binary for the scratch server; default: the snapshot flavour's CLI on `searchPath`. */
  binary?: string;
  searchPath?: string;
  /** The unseal keys of the cluster the snapshot was taken from (at least its threshold). */
  unsealKeys: string[];
  identities?: string[];
  scratchPort?: number;
  sealConfig?: string;
  sealEnv?: Record<string, string>;
  restoreTimeoutMs?: number;
  tempRoot?: string;
}

/** One side of an item (the snapshot's or the live cluster's): metadata only, never a value. */
export interface ItemSide {
  present: boolean;
  /** KV v2: the version (the snapshot's: the one recovered; live: the current one). */
  version?: number;
  /** KV v2: when that version was written. */
  time?: string;
  /** KV v2: that version is deleted (soft) or destroyed. */
  deleted?: boolean;
  destroyed?: boolean;
}

export type ItemKind = 'kv2' | 'kv1' | 'policy' | 'kubernetes-role' | 'approle-role' | 'static-role';

export interface PlannedItem {
  kind: ItemKind;
  /** What was asked for: `secret/payments/db`, `policy payments-read`. */
  item: string;
  /** Where it is written: the same item, or `--as`'s. */
  target: string;
  snapshot: ItemSide;
  live: ItemSide;
  /** Keys of the values (KV) the write adds, removes and changes against the live ones; never a value. */
  keys: { added: string[]; removed: string[]; changed: string[]; unchanged: number };
  /** `write`, or `unchanged` when the live item already equals the snapshot's (nothing written). */
  action: 'write' | 'unchanged';
  /** KV v2: the live version read at plan time; the write is check-and-set on it (0: create only). */
  cas?: number;
  /** KV v2: custom metadata keys written back because the live item lost its metadata (deleted whole). */
  customMetadataRestored?: string[];
}

export interface RecoveryPlan {
  snapshot: {
    id: string;
    createdAt: string;
    clusterName?: string;
    clusterId?: string;
    /** `signed by KEY`, or `unsigned (no --verify-key)`. */
    signature: string;
  };
  target: { address: string };
  items: PlannedItem[];
  timings: { download: number; restore: number; read: number; plan: number };
}
