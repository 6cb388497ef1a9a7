import type { Readable } from 'node:stream';

/**
 * The one interface in front of every place snapshots live (S3, a folder). Key names are built
 * only by the snapshot repository (`repository/layout.ts`); stores know nothing of snapshots,
 * manifests or records, only objects.
 *
 * Contract (every implementation runs the shared suite in test/integration/store-contract.ts):
 * - `putStream` is atomic: the object becomes visible complete, or not at all. On any failure,
 *   including an aborted `signal` or an error from `body`, nothing is left under `key` (the S3
 *   multipart upload is aborted; the folder store's temp file is removed). It never overwrites
 *   an existing object: `ifAbsent` puts fail with code 'store' when `key` exists.
 * - `putStream` retries single parts (S3) but never the whole stream: a stream cannot be replayed.
 * - "Not found" is a VaultOpsError with code 'not-found' from `get`, `getBytes` and `head`;
 *   `delete` of a missing object succeeds (idempotent, as in S3).
 * - `list` returns every object under the store's prefix (recursively), in no particular order,
 *   in one pass over the backend's pages; objects still being written by `putStream` are never
 *   listed under their final key. `under` is a key prefix within the store's prefix: a folder
 *   (`records/`) or the start of a name (`<id>.` lists one snapshot's objects).
 * - Store errors are VaultOpsError code 'store' with a message naming the store URL (without
 *   credentials) and what to check.
 */
export interface SnapshotStore {
  /** Where this store points, for messages: `s3://bucket/prefix` or `file:///dir`. No credentials. */
  readonly url: string;
  /** Normalised key prefix (no leading or trailing slash; may be empty). */
  readonly prefix: string;
  /** What the store can do; callers adapt (e.g. prune deletes exact versions when versioned). */
  readonly capabilities: StoreCapabilities;
  /**
   * How many small reads (`getBytes` of manifests and drill records) the catalogue may have in flight
   * at once against this backend; the repository's default when absent.
   */
  readonly readConcurrency?: number;

  putStream(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  putBytes(key: string, data: Uint8Array | string, options?: PutOptions): Promise<PutResult>;
  get(key: string, options?: { signal?: AbortSignal; versionId?: string }): Promise<Readable>;
  /** Small objects only (manifests, records): refuses more than `maxBytes`. */
  getBytes(key: string, options?: { maxBytes?: number; signal?: AbortSignal }): Promise<Buffer>;
  head(key: string, options?: { versionId?: string }): Promise<StoredObject>;
  list(options?: { under?: string; signal?: AbortSignal }): Promise<StoredObject[]>;
  /** Every version of every object (versioned S3 buckets); the latest versions otherwise. */
  listVersions(options?: { under?: string }): Promise<StoredObjectVersion[]>;
  /** Delete an object; with `versionId`, that exact version (no delete marker is left). */
  delete(key: string, options?: { versionId?: string }): Promise<void>;
  /** Incomplete uploads (S3 multipart uploads never completed or aborted; stray temp files). */
  listIncomplete(): Promise<IncompleteUpload[]>;
  /**
   * `list()` and `listIncomplete()` at once, for a backend where finding incomplete uploads lists the
   * objects anyway (Azure: one pass instead of three). Absent: callers run the two side by side.
   */
  listWithIncomplete?(options?: { signal?: AbortSignal }): Promise<{
    objects: StoredObject[];
    incomplete: IncompleteUpload[];
  }>;
  abortIncomplete(upload: IncompleteUpload): Promise<void>;
  close(): Promise<void>;
}

export interface StoreCapabilities {
  versioning: boolean;
  objectLock: boolean;
}

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
  /** Fail instead of replacing an existing object (default true). */
  ifAbsent?: boolean;
  /** Object-lock retention for this object (S3 buckets with object lock). */
  retention?: { mode: 'GOVERNANCE' | 'COMPLIANCE'; until: Date };
  /** Called as bytes are accepted by the store (progress). */
  onProgress?: (bytesStored: number) => void;
  /**
   * The MD5 of the whole body, when the caller knows it (`putBytes`): stored where the backend does not
   * work it out itself (Azure's Content-MD5 of a block blob), so that listings report it.
   */
  contentMd5?: Buffer;
}

export interface PutResult {
  key: string;
  bytes: number;
  versionId?: string;
}

export interface StoredObject {
  key: string;
  bytes: number;
  lastModified: Date;
  versionId?: string;
  /** Object-lock retention, when the store reports it. */
  retainUntil?: Date;
  /**
   * The MD5 of the object's bytes (lowercase hex), when the listing says it (S3's ETag of a single-part
   * put, Azure's Content-MD5, GCS's md5Hash). Lets the catalogue index prove a cached copy is current.
   */
  contentMd5?: string;
}

export interface StoredObjectVersion extends StoredObject {
  isLatest: boolean;
  isDeleteMarker: boolean;
}

export interface IncompleteUpload {
  key: string;
  /** S3 multipart upload id, or the temp file name in the folder store. */
  uploadId: string;
  initiated: Date;
  bytes?: number;
}
