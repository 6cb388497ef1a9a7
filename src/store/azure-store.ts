import type {
  BlobItem,
  BlobServiceClient,
  BlobImmutabilityPolicyMode,
  BlockBlobClient,
  ContainerClient,
} from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { VaultOpsError } from '../errors.js';
import { uploadBlocks } from './block-upload.js';
import { objectExists, KeyTakenError } from './exists.js';
import { listingPrefix, normalizePrefix } from './prefix.js';
import type {
  IncompleteUpload,
  PutOptions,
  PutResult,
  SnapshotStore,
  StoreCapabilities,
  StoredObject,
  StoredObjectVersion,
} from './snapshot-store.js';
import { getBytesCapped } from './read-capped.js';

export interface AzureStoreOptions {
  container: string;
  prefix: string;
  /** A client for the storage account (built by `azureServiceClient`). */
  service: BlobServiceClient;
  /** Block size in bytes (memory per in-flight block). */
  blockSize?: number;
  /** Blocks staged in parallel; peak buffer memory is about blockSize × (queueSize + 1). */
  queueSize?: number;
}

/** 8 MiB blocks, 2 in flight, from a pool of three: 24 MiB whatever the snapshot size (as S3). */
const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 2;

/**
 * A legal hold has no end date: reported as retained until the end of time, so that prune keeps
 * the snapshot (and says so) instead of failing on the delete.
 */
const LEGAL_HOLD_UNTIL = new Date('9999-12-31T23:59:59.999Z');

interface RestErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
  cause?: { code?: string };
}

/**
 * An Azure Blob container (and prefix) as a snapshot store. Streams go up as staged blocks with a
 * transactional MD5 each (block-upload.ts), committed create-only (`If-None-Match: *`); the blob is
 * invisible until the commit, and a failed or aborted upload leaves only uncommitted blocks, which
 * this store discards at once (see `discardUncommitted`).
 *
 * Capabilities, as S3's are read for prune and save:
 * - `objectLock`: the container has a time-based immutability policy, a legal hold, or
 *   version-level immutability (WORM) enabled, i.e. some blobs may refuse deletion. `head` reports
 *   a blob's own immutability policy expiry (and a legal hold as "until the end of time") as
 *   `retainUntil`, so prune keeps them with a warning. A container-level policy is not visible per
 *   blob: deleting such a blob fails with a message naming the policy. `retention` on a put becomes
 *   the blob's immutability policy (GOVERNANCE → Unlocked, COMPLIANCE → Locked), which Azure
 *   accepts only with version-level immutability.
 * - `versioning`: blob versioning is an account setting Azure reports only through its management
 *   API; the data plane shows it as version ids. So: version-level immutability (which requires
 *   versioning), or a version id on any blob under the prefix, or on any write this store makes.
 */
export class AzureStore implements SnapshotStore {
  readonly url: string;
  readonly prefix: string;
  /** Manifest and drill-record reads in flight (one keep-alive socket per read in flight). */
  readonly readConcurrency = 32;
  capabilities: StoreCapabilities = { versioning: false, objectLock: false };
  private readonly container: ContainerClient;
  /** Per-blob immutability policies are accepted (version-level WORM on the container). */
  private versionLevelImmutability = false;

  constructor(private readonly options: AzureStoreOptions) {
    this.prefix = normalizePrefix(options.prefix);
    this.url = `az://${options.container}${this.prefix ? `/${this.prefix}` : ''}`;
    this.container = options.service.getContainerClient(options.container);
  }

  /** Learn whether the container exists, is versioned and has immutability (prune and save adapt). */
  async probe(): Promise<StoreCapabilities> {
    try {
      const p = await this.container.getProperties();
      this.versionLevelImmutability = p.isImmutableStorageWithVersioningEnabled === true;
      this.capabilities.objectLock =
        this.versionLevelImmutability || p.hasImmutabilityPolicy === true || p.hasLegalHold === true;
      this.capabilities.versioning = this.versionLevelImmutability;
    } catch (err) {
      throw this.fail('read the properties of', this.options.container, err);
    }
    if (!this.capabilities.versioning) {
      try {
        const page = await this.container
          .listBlobsFlat({ prefix: listingPrefix(this.prefix), includeVersions: true })
          .byPage({ maxPageSize: 50 })
          .next();
        const items = page.done ? [] : page.value.segment.blobItems;
        this.capabilities.versioning = items.some((b) => !!b.versionId);
      } catch (err) {
        throw this.fail('list', listingPrefix(this.prefix) || '/', err);
      }
    }
    return this.capabilities;
  }

  private blob(key: string, versionId?: string): BlockBlobClient {
    const blob = this.container.getBlockBlobClient(key);
    return versionId ? blob.withVersion(versionId).getBlockBlobClient() : blob;
  }

  private noteVersion(versionId: string | undefined): void {
    if (versionId) this.capabilities.versioning = true;
  }

  private fail(action: string, key: string, err: unknown): VaultOpsError {
    if (err instanceof VaultOpsError) return err;
    const e = err as RestErrorLike;
    const code = e.code ?? e.details?.errorCode ?? '';
    const status = e.statusCode;
    const where = `${this.url} (${key})`;
    if (e.name === 'AbortError') {
      return new VaultOpsError(
        'aborted',
        `${action} ${where} was interrupted; nothing was committed, so nothing was stored`,
        { cause: err },
      );
    }
    if (code === 'ContainerNotFound') {
      return new VaultOpsError(
        'store',
        `Azure container ${this.options.container} does not exist: create it (with versioning/immutability as ` +
          `needed) or fix the store URL`,
        { cause: err },
      );
    }
    if (code === 'BlobAlreadyExists' || (status === 409 && /exists/i.test(code)) || status === 412) {
      return new KeyTakenError(key, this.url, { cause: err });
    }
    if (code === 'BlobNotFound' || code === 'BlobVersionNotFound' || (status === 404 && !code)) {
      return new VaultOpsError('not-found', `${key} does not exist in ${this.url}`, { cause: err });
    }
    if (/^BlobImmutableDueTo/.test(code) || code === 'ImmutableStorageWithVersioningNotEnabled') {
      return new VaultOpsError(
        'store',
        `Azure refused to ${action} ${where} (${code}): ${
          code === 'ImmutableStorageWithVersioningNotEnabled'
            ? 'per-blob retention needs version-level immutability on the container; enable it or drop the ' +
              'object-lock options'
            : 'it is under an immutability policy or legal hold; wait for it to expire or lift the hold'
        }`,
        { cause: err },
      );
    }
    if (
      status === 401 ||
      /^Authentication|InvalidAuthenticationInfo|CredentialUnavailable/.test(code + (e.name ?? ''))
    ) {
      return new VaultOpsError(
        'store',
        `Azure rejected the credentials (${code || e.name || status}) while trying to ${action} ${where}: check ` +
          `the account key, SAS or connection string (and its expiry), or the managed identity`,
        { cause: err },
      );
    }
    if (status === 403) {
      return new VaultOpsError(
        'store',
        `Azure denied access (${code || status}) to ${action} ${where}: check the role assignments or the SAS ` +
          `permissions${action === 'delete' ? ' (or an immutability policy protects it)' : ''}`,
        { cause: err },
      );
    }
    const net = e.cause?.code ?? code;
    if (net && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|REQUEST_SEND_ERROR/.test(net)) {
      return new VaultOpsError(
        'store',
        `cannot reach Azure Blob storage to ${action} ${where} (${net}): check --azure-endpoint / the account ` +
          `name and the network`,
        { cause: err },
      );
    }
    return new VaultOpsError(
      'store',
      `Azure failed to ${action} ${where}: ${code || e.name || status || 'error'}${
        e.message ? ` (${e.message.split('\n')[0]})` : ''
      }`,
      { cause: err },
    );
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    if (options.ifAbsent !== false && (await objectExists(this, key))) {
      throw new KeyTakenError(key, this.url);
    }
    if (options.retention && !this.versionLevelImmutability) {
      throw new VaultOpsError(
        'config',
        `object-lock retention was asked for, but ${this.url} has no version-level immutability: enable it on the ` +
          `container, or drop the object-lock options`,
      );
    }
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let bytes = 0;
    // A body that fails mid-stream must fail the upload even while a block is being sent.
    const bodyFailed = new Promise<never>((_, reject) => body.once('error', reject));
    bodyFailed.catch(() => undefined);
    const done = uploadBlocks(body, {
      blob: this.blob(key),
      commit: {
        blobHTTPHeaders: {
          blobContentType: options.contentType ?? 'application/octet-stream',
          // A block blob's Content-MD5 is what the committer says: the service computes none.
          ...(options.contentMd5 ? { blobContentMD5: options.contentMd5 } : {}),
        },
        // Create-only, enforced by the service at the commit: a concurrent writer of the same key loses.
        ...(options.ifAbsent !== false ? { conditions: { ifNoneMatch: '*' } } : {}),
        ...(options.retention
          ? {
              immutabilityPolicy: {
                expiriesOn: options.retention.until,
                policyMode: (options.retention.mode === 'COMPLIANCE'
                  ? 'Locked'
                  : 'Unlocked') as BlobImmutabilityPolicyMode,
              },
            }
          : {}),
      },
      blockSize: this.options.blockSize ?? DEFAULT_BLOCK_SIZE,
      queueSize: this.options.queueSize ?? DEFAULT_QUEUE_SIZE,
      signal: abort.signal,
      onProgress: (n) => {
        bytes = n;
        options.onProgress?.(bytes);
      },
    });
    done.catch(() => undefined);
    try {
      const result = await Promise.race([done, bodyFailed]);
      this.noteVersion(result.versionId);
      return { key, bytes, ...(result.versionId ? { versionId: result.versionId } : {}) };
    } catch (err) {
      abort.abort();
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await this.discardUncommitted(key).catch(() => undefined);
      if (options.signal?.aborted)
        throw this.fail('upload', key, Object.assign(new Error('aborted'), { name: 'AbortError' }));
      throw this.fail('upload', key, err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async putBytes(key: string, data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    const bytes = Buffer.from(data);
    const contentMd5 = createHash('md5').update(bytes).digest();
    return this.putStream(key, Readable.from([bytes]), { contentMd5, ...options });
  }

  async get(key: string, options: { signal?: AbortSignal; versionId?: string } = {}): Promise<Readable> {
    try {
      const out = await this.blob(key, options.versionId).download(0, undefined, {
        ...(options.signal ? { abortSignal: options.signal } : {}),
      });
      if (!out.readableStreamBody) throw new VaultOpsError('store', `Azure returned no body for ${key} in ${this.url}`);
      return out.readableStreamBody as Readable;
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async getBytes(key: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    return await getBytesCapped(this, key, options);
  }

  async head(key: string, options: { versionId?: string } = {}): Promise<StoredObject> {
    try {
      const p = await this.blob(key, options.versionId).getProperties();
      const retainUntil = p.legalHold ? LEGAL_HOLD_UNTIL : p.immutabilityPolicyExpiresOn;
      return {
        key,
        bytes: p.contentLength ?? 0,
        lastModified: p.lastModified ?? new Date(0),
        ...(p.versionId ? { versionId: p.versionId } : {}),
        ...(retainUntil ? { retainUntil } : {}),
      };
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async list(options: { under?: string; signal?: AbortSignal } = {}): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const prefix = listingPrefix(this.prefix, options.under);
    try {
      for await (const b of this.container.listBlobsFlat({
        prefix,
        ...(options.signal ? { abortSignal: options.signal } : {}),
      })) {
        out.push(storedOf(b));
      }
    } catch (err) {
      throw this.fail('list', prefix || '/', err);
    }
    return out;
  }

  async listVersions(options: { under?: string } = {}): Promise<StoredObjectVersion[]> {
    const out: StoredObjectVersion[] = [];
    const prefix = listingPrefix(this.prefix, options.under);
    try {
      // Azure has no delete markers: deleting a versioned blob leaves its versions with no current one.
      for await (const b of this.container.listBlobsFlat({ prefix, includeVersions: true })) {
        out.push({
          key: b.name,
          bytes: b.properties.contentLength ?? 0,
          lastModified: b.properties.lastModified,
          ...(b.versionId ? { versionId: b.versionId } : {}),
          isLatest: b.versionId ? b.isCurrentVersion === true : true,
          isDeleteMarker: false,
        });
      }
    } catch (err) {
      throw this.fail('list versions of', prefix || '/', err);
    }
    return out;
  }

  async delete(key: string, options: { versionId?: string } = {}): Promise<void> {
    try {
      if (options.versionId) {
        // The current version is removed by deleting the base blob (it then becomes a previous
        // version); a version id names a previous version for good.
        const current = await this.blob(key)
          .getProperties()
          .catch(() => undefined);
        if (current?.versionId === options.versionId) await this.blob(key).deleteIfExists();
        await this.blob(key, options.versionId).deleteIfExists();
        return;
      }
      await this.blob(key).deleteIfExists();
    } catch (err) {
      throw this.fail('delete', key, err);
    }
  }

  /**
   * Blobs with only uncommitted blocks: an upload cut and not cleaned up (the process was killed). Not
   * reported in a container with immutability: discarding them early means committing an empty blob and
   * deleting it, which is refused there; Azure drops them after 7 days itself.
   */
  async listIncomplete(): Promise<IncompleteUpload[]> {
    return (await this.listWithIncomplete()).incomplete;
  }

  /**
   * Objects and unfinished uploads from one listing that includes uncommitted blobs (it used to take a
   * second, committed listing away from it). A blob with nothing committed lists with length 0: only
   * such entries get a HEAD, whose "not found" makes them an unfinished upload; a committed blob with
   * more blocks staged lists as the object it is.
   */
  async listWithIncomplete(
    options: { signal?: AbortSignal } = {},
  ): Promise<{ objects: StoredObject[]; incomplete: IncompleteUpload[] }> {
    if (this.capabilities.objectLock) return { objects: await this.list(options), incomplete: [] };
    const prefix = listingPrefix(this.prefix);
    const objects: StoredObject[] = [];
    const empty: BlobItem[] = [];
    try {
      for await (const b of this.container.listBlobsFlat({
        prefix,
        includeUncommitedBlobs: true,
        ...(options.signal ? { abortSignal: options.signal } : {}),
      })) {
        if ((b.properties.contentLength ?? 0) === 0) empty.push(b);
        else objects.push(storedOf(b));
      }
    } catch (err) {
      throw this.fail('list incomplete uploads in', prefix || '/', err);
    }
    const incomplete: IncompleteUpload[] = [];
    for (const b of empty) {
      try {
        await this.blob(b.name).getProperties(options.signal ? { abortSignal: options.signal } : {});
        objects.push(storedOf(b));
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw this.fail('read', b.name, err);
        incomplete.push({
          key: b.name,
          uploadId: b.name,
          initiated: b.properties.createdOn ?? b.properties.lastModified,
          bytes: 0,
        });
      }
    }
    return { objects, incomplete };
  }

  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    try {
      await this.discardUncommitted(upload.key);
    } catch (err) {
      throw this.fail('abort the incomplete upload of', upload.key, err);
    }
  }

  /**
   * Drop a key's uncommitted blocks now rather than in Azure's 7 days: Azure has no call for it,
   * but a commit discards every uncommitted block it does not name, so commit an empty block list
   * (create-only: a blob that exists is left alone) and delete the empty blob (every version of
   * it). Not in containers with immutability, where the empty blob could not be deleted.
   */
  private async discardUncommitted(key: string): Promise<void> {
    if (this.capabilities.objectLock) return;
    let versionId: string | undefined;
    try {
      versionId = (await this.blob(key).commitBlockList([], { conditions: { ifNoneMatch: '*' } })).versionId;
    } catch (err) {
      if ((err as RestErrorLike).statusCode === 409 || (err as RestErrorLike).statusCode === 412) return;
      throw err;
    }
    await this.blob(key).deleteIfExists();
    if (versionId) await this.blob(key, versionId).deleteIfExists();
  }

  async close(): Promise<void> {
    // The SDK's HTTP pipeline holds no resource that needs closing (keep-alive sockets are unref'd).
  }
}

/** A listed blob as the store reports objects (its Content-MD5, when it has one, for the catalogue index). */
function storedOf(b: BlobItem): StoredObject {
  const md5 = b.properties.contentMD5;
  return {
    key: b.name,
    bytes: b.properties.contentLength ?? 0,
    lastModified: b.properties.lastModified,
    ...(md5?.length === 16 ? { contentMd5: Buffer.from(md5).toString('hex') } : {}),
  };
}
