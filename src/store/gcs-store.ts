import { KeyTakenError } from './exists.js';
import { type Bucket, type File, type FileMetadata, type GetFilesOptions, Storage } from '@google-cloud/storage';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError } from '../errors.js';
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

export interface GcsStoreOptions {
  bucket: string;
  prefix: string;
  /** `http(s)://host:port` of an emulator or private endpoint; otherwise storage.googleapis.com. */
  endpoint?: string;
  /** Service-account JSON key file; otherwise application default credentials. */
  credentialsFile?: string;
  /** Bytes per resumable-upload request, a multiple of 256 KiB: the memory the upload holds. */
  chunkSize?: number;
}

/** 8 MiB per request (Google's recommended minimum for chunked uploads). */
const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
const GOOGLE_ENDPOINT = 'https://storage.googleapis.com';

/** Bucket metadata → what prune and save may rely on (exported for its unit test). */
export function gcsCapabilitiesOf(metadata: {
  versioning?: { enabled?: boolean } | null;
  retentionPolicy?: { retentionPeriod?: string | number } | null;
  objectRetention?: { mode?: string } | null;
  defaultEventBasedHold?: boolean | null;
}): StoreCapabilities {
  return {
    versioning: metadata.versioning?.enabled === true,
    // Any of GCS's three ways of refusing a delete plays the part S3 object lock plays: a bucket
    // retention policy (every object kept for a period), per-object retention (a retain-until
    // date, like S3's), and event-based holds placed on every new object.
    objectLock:
      Number(metadata.retentionPolicy?.retentionPeriod ?? 0) > 0 ||
      metadata.objectRetention?.mode === 'Enabled' ||
      metadata.defaultEventBasedHold === true,
  };
}

/** The later of an object's bucket-policy expiry and its own retain-until date. */
function retainUntilOf(m: FileMetadata): Date | undefined {
  const dates = [m.retentionExpirationTime, m.retention?.retainUntilTime]
    .filter((d): d is string => typeof d === 'string' && d !== '')
    .map((d) => new Date(d))
    .filter((d) => !Number.isNaN(d.getTime()));
  return dates.length ? new Date(Math.max(...dates.map((d) => d.getTime()))) : undefined;
}

/**
 * A Google Cloud Storage bucket (and prefix) as a snapshot store. Streams go up as one resumable
 * upload sent in `chunkSize` requests: the SDK holds one chunk (to resend it when a request
 * fails; it retries that chunk, never the whole stream), computes the CRC32C of the whole stream,
 * sends it with the last chunk (GCS refuses a mismatch) and compares it with the stored object's.
 * The object exists only once the last chunk is accepted; writes are create-only through
 * `ifGenerationMatch: 0`. On any failure the resumable session is cancelled.
 */
export class GcsStore implements SnapshotStore {
  readonly url: string;
  readonly prefix: string;
  /** Manifest and drill-record reads in flight (one keep-alive socket per read in flight). */
  readonly readConcurrency = 32;
  capabilities: StoreCapabilities = { versioning: false, objectLock: false };
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly chunkSize: number;

  constructor(private readonly options: GcsStoreOptions) {
    this.prefix = normalizePrefix(options.prefix);
    this.url = `gs://${options.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.storage = newStorage(options);
    this.bucket = this.storage.bucket(options.bucket);
  }

  /** Learn whether the bucket keeps versions / refuses deletes (prune and save adapt to it). */
  async probe(): Promise<StoreCapabilities> {
    try {
      const [metadata] = await this.bucket.getMetadata();
      this.capabilities = gcsCapabilitiesOf(metadata);
    } catch (err) {
      throw this.fail('read the metadata of bucket', this.options.bucket, err, { bucket: true });
    }
    return this.capabilities;
  }

  private fail(action: string, key: string, err: unknown, context: { bucket?: boolean } = {}): VaultOpsError {
    if (err instanceof VaultOpsError) return err;
    const e = err as { name?: string; code?: number | string; message?: string; errors?: { message?: string }[] };
    const status = typeof e.code === 'number' ? e.code : undefined;
    const where = context.bucket ? `${this.url}` : `${this.url} (${key})`;
    const detail = (e.errors?.[0]?.message ?? e.message ?? '').split('\n')[0] ?? '';
    if (e.name === 'AbortError')
      return new VaultOpsError(
        'aborted',
        `${action} ${where} was interrupted; the upload was cancelled and nothing was stored`,
        { cause: err },
      );
    if (status === 404 && context.bucket) {
      return new VaultOpsError(
        'store',
        `GCS bucket ${this.options.bucket} does not exist: create it (with versioning / a retention policy as ` +
          `needed) or fix the store URL`,
        { cause: err },
      );
    }
    if (status === 404) return new VaultOpsError('not-found', `${key} does not exist in ${this.url}`, { cause: err });
    if (status === 412) {
      return new KeyTakenError(key, this.url, { cause: err });
    }
    if (status === 401) {
      return new VaultOpsError(
        'store',
        `GCS rejected the credentials while trying to ${action} ${where}: check --gcs-credentials-file ` +
          `(GOOGLE_APPLICATION_CREDENTIALS) or the workload identity of this pod`,
        { cause: err },
      );
    }
    if (status === 403) {
      return new VaultOpsError(
        'store',
        `GCS denied access to ${action} ${where}: check the service account's roles on the bucket` +
          `${action === 'delete' ? ' (or the object is under a retention policy or hold)' : ''}`,
        { cause: err },
      );
    }
    if (e.code === 'FILE_NO_UPLOAD') {
      return new VaultOpsError(
        'store',
        `GCS stored different bytes than were sent to ${where} (CRC32C mismatch); the object was removed: retry`,
        { cause: err },
      );
    }
    const net = typeof e.code === 'string' ? e.code : (err as { cause?: { code?: string } }).cause?.code;
    if (net && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN/.test(net)) {
      return new VaultOpsError(
        'store',
        `cannot reach GCS to ${action} ${where} (${net}): check --gcs-endpoint and the network`,
        { cause: err },
      );
    }
    // Credential loading fails before any request (no key file, no metadata server, a key OpenSSL
    // cannot decode): say where to look, never what the key file holds.
    const badKey = typeof e.code === 'string' && e.code.startsWith('ERR_OSSL');
    if (badKey || /credentials|Could not load the default|private key|invalid_grant|token/i.test(detail)) {
      return new VaultOpsError(
        'store',
        `GCS credentials could not be used to ${action} ${where}: set --gcs-credentials-file ` +
          `(GOOGLE_APPLICATION_CREDENTIALS) to a service-account key file, or run with workload identity`,
        { cause: err },
      );
    }
    return new VaultOpsError(
      'store',
      `GCS failed to ${action} ${where}: ${status ?? e.name ?? 'error'}${detail ? ` (${detail})` : ''}`,
      { cause: err },
    );
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const createOnly = options.ifAbsent !== false;
    let bytes = 0;
    let sessionUri: string | undefined;
    let stored: FileMetadata | undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        options.onProgress?.(bytes);
        done(null, chunk);
      },
    });
    const file = this.bucket.file(key);
    const upload = file.createWriteStream({
      resumable: true,
      chunkSize: this.chunkSize,
      validation: 'crc32c',
      ...(createOnly ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      metadata: {
        contentType: options.contentType ?? 'application/octet-stream',
        // GCS object retention: "Unlocked" can be shortened by an admin (S3 GOVERNANCE), "Locked" cannot.
        ...(options.retention
          ? {
              retention: {
                mode: options.retention.mode === 'COMPLIANCE' ? 'Locked' : 'Unlocked',
                retainUntilTime: options.retention.until.toISOString(),
              },
            }
          : {}),
      },
    });
    upload.on('uri', (uri: string) => (sessionUri = uri));
    try {
      await pipeline(body, counter, upload, ...(options.signal ? [{ signal: options.signal }] : []));
      stored = file.metadata;
    } catch (err) {
      await this.cancelSession(sessionUri);
      // The last chunk may have been accepted just before the failure: a create-only write can
      // only have created it, so remove it (nothing of a failed put stays).
      if (createOnly) await this.deleteIfCreatedBy(file, err);
      if (options.signal?.aborted)
        throw this.fail('upload', key, Object.assign(new Error('aborted'), { name: 'AbortError' }));
      throw this.fail('upload', key, err);
    }
    const generation = stored?.generation;
    return {
      key,
      bytes,
      ...(this.capabilities.versioning && generation !== undefined ? { versionId: String(generation) } : {}),
    };
  }

  /** Cancel a resumable session (DELETE on its URI; GCS answers 499): its bytes are dropped. */
  private async cancelSession(uri: string | undefined): Promise<void> {
    if (!uri) return;
    try {
      // The session URI is its own credential: no auth header needed (or wanted) on it.
      const res = await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
    } catch {
      /* best effort: an unfinished session holds no object and expires after a week */
    }
  }

  private async deleteIfCreatedBy(file: File, err: unknown): Promise<void> {
    // A 412 means the object was someone else's: never touch it.
    if ((err as { code?: unknown }).code === 412) return;
    try {
      const [metadata] = await file.getMetadata();
      if (metadata.generation !== undefined)
        await this.bucket.file(file.name, { generation: Number(metadata.generation) }).delete();
    } catch {
      /* not there: nothing to remove */
    }
  }

  async putBytes(key: string, data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    return this.putStream(key, Readable.from([Buffer.from(data)]), options);
  }

  private file(key: string, versionId?: string): File {
    return this.bucket.file(key, versionId ? { generation: Number(versionId) } : {});
  }

  async get(key: string, options: { signal?: AbortSignal; versionId?: string } = {}): Promise<Readable> {
    // The SDK's read stream reports a missing object only once read: ask first, so that "not
    // found" is an error of get() itself, as the contract says.
    await this.head(key, options.versionId ? { versionId: options.versionId } : {});
    const source = this.file(key, options.versionId).createReadStream({ validation: 'crc32c' });
    const out = new PassThrough();
    pipeline(source, out, ...(options.signal ? [{ signal: options.signal }] : [])).catch((err: unknown) => {
      out.destroy(this.fail('read', key, err));
    });
    return out;
  }

  async getBytes(key: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    return await getBytesCapped(this, key, options);
  }

  private toStored(key: string, m: FileMetadata): StoredObject {
    const retainUntil = retainUntilOf(m);
    return {
      key,
      bytes: Number(m.size ?? 0),
      lastModified: new Date(m.timeCreated ?? m.updated ?? 0),
      ...(this.capabilities.versioning && m.generation !== undefined ? { versionId: String(m.generation) } : {}),
      ...(retainUntil ? { retainUntil } : {}),
      ...(typeof m.md5Hash === 'string' && m.md5Hash.length === 24
        ? { contentMd5: Buffer.from(m.md5Hash, 'base64').toString('hex') }
        : {}),
    };
  }

  async head(key: string, options: { versionId?: string } = {}): Promise<StoredObject> {
    try {
      const [metadata] = await this.file(key, options.versionId).getMetadata();
      return this.toStored(key, metadata);
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async list(options: { under?: string; signal?: AbortSignal } = {}): Promise<StoredObject[]> {
    const prefix = listingPrefix(this.prefix, options.under);
    const out: StoredObject[] = [];
    try {
      // Page by page, keeping only what a StoredObject needs: the SDK's File objects of a whole
      // listing (autoPaginate) held ≈ 1 GB for 30,000 objects in the catalogue bench. The page size is
      // the service's (GCS: 1,000): a smaller one forced here only adds round trips, and made
      // fake-gcs-server, which reads the whole bucket for every page, 10× slower than one listing.
      let query: GetFilesOptions | null = { ...(prefix ? { prefix } : {}), autoPaginate: false };
      while (query) {
        options.signal?.throwIfAborted();
        const [files, next]: [File[], GetFilesOptions | null, unknown] = await this.bucket.getFiles(query);
        for (const f of files) out.push(this.toStored(f.name, f.metadata));
        query = next?.pageToken ? next : null;
      }
      return out;
    } catch (err) {
      throw this.fail('list', prefix || '/', err);
    }
  }

  /**
   * Every generation (noncurrent ones carry `timeDeleted`). GCS has no delete markers: a plain
   * delete in a versioned bucket only makes the live generation noncurrent.
   */
  async listVersions(options: { under?: string } = {}): Promise<StoredObjectVersion[]> {
    const prefix = listingPrefix(this.prefix, options.under);
    try {
      const [files] = await this.bucket.getFiles({
        ...(prefix ? { prefix } : {}),
        versions: this.capabilities.versioning,
        autoPaginate: true,
      });
      return files.map((f) => ({
        ...this.toStored(f.name, f.metadata),
        isLatest: !f.metadata.timeDeleted,
        isDeleteMarker: false,
      }));
    } catch (err) {
      throw this.fail('list versions of', prefix || '/', err);
    }
  }

  async delete(key: string, options: { versionId?: string } = {}): Promise<void> {
    try {
      await this.file(key, options.versionId).delete({ ignoreNotFound: true });
    } catch (err) {
      throw this.fail('delete', key, err);
    }
  }

  /**
   * Always empty: GCS has no API that lists resumable upload sessions (a session is known only by
   * the URI its creator holds). An unfinished session creates no object, is never listed, and
   * expires after a week; putStream cancels its own on every failure.
   */
  async listIncomplete(): Promise<IncompleteUpload[]> {
    return [];
  }

  /** `uploadId` is a resumable session URI: cancel it. */
  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    await this.cancelSession(upload.uploadId);
  }

  async close(): Promise<void> {
    /* the SDK holds no resources to release */
  }
}

/**
 * The SDK client, configured only from `options`. Its constructor reads
 * `process.env.STORAGE_EMULATOR_HOST` itself and then prefers it to `apiEndpoint` for every JSON
 * API request (and skips authentication): a store reads only the environment it is given (the
 * daemon's jobs each bring theirs), so the variable is hidden from the constructor, which is
 * synchronous, and the endpoint passed explicitly.
 */
function newStorage(options: GcsStoreOptions): Storage {
  const endpoint = options.endpoint ?? GOOGLE_ENDPOINT;
  // An emulator over plain http (loopback, or allowed by --allow-insecure-http) takes no
  // credentials; an https endpoint (private service connect, a proxy) gets the usual ones.
  const authenticate = new URL(endpoint).protocol === 'https:';
  const saved = process.env.STORAGE_EMULATOR_HOST;
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return new Storage({
      apiEndpoint: endpoint,
      useAuthWithCustomEndpoint: authenticate,
      ...(options.credentialsFile ? { keyFilename: options.credentialsFile } : {}),
    });
  } finally {
    if (saved !== undefined) process.env.STORAGE_EMULATOR_HOST = saved;
  }
}
