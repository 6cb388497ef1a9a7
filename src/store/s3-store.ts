import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  S3Client,
  type CreateMultipartUploadCommandInput,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { VaultOpsError } from '../errors.js';
import { ObjectExistsError, uploadStream } from './multipart-upload.js';
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

export interface S3StoreOptions {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  storageClass?: string;
  /** Multipart part size in bytes (memory per in-flight part). */
  partSize?: number;
  /** Parts uploaded in parallel; peak buffer memory is about partSize × queueSize. */
  queueSize?: number;
  /** Static credentials; otherwise the AWS default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** An existing client (tests); otherwise one is built from the options above. */
  client?: S3Client;
}

/** 8 MiB parts, 2 in flight: ~16 MiB of buffers whatever the snapshot size. */
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 2;

/**
 * An S3 bucket (and prefix) as a snapshot store. Streams go up as a multipart upload with a
 * SHA-256 checksum on every part (S3 verifies each part and the composite on completion); the
 * object is invisible until CompleteMultipartUpload, and any failure aborts the upload so no
 * partial object or orphaned parts remain. The SDK retries individual requests (parts), never
 * the whole stream, which cannot be replayed.
 */
export class S3Store implements SnapshotStore {
  readonly url: string;
  readonly prefix: string;
  /** Manifest and drill-record reads in flight (the SDK keeps up to 50 sockets per host). */
  readonly readConcurrency = 32;
  capabilities: StoreCapabilities = { versioning: false, objectLock: false };
  private readonly client: S3Client;
  private readonly ownsClient: boolean;

  constructor(private readonly options: S3StoreOptions) {
    this.prefix = normalizePrefix(options.prefix);
    this.url = `s3://${options.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.ownsClient = !options.client;
    this.client =
      options.client ??
      new S3Client({
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        region: options.region ?? 'us-east-1',
        forcePathStyle: options.forcePathStyle ?? false,
        ...(options.credentials ? { credentials: options.credentials } : {}),
        // Checksums on what we send are set explicitly per upload; don't demand them on reads of
        // objects written by other tools.
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
  }

  /** Learn whether the bucket is versioned / object-locked (prune and save adapt to it). */
  async probe(): Promise<StoreCapabilities> {
    try {
      const v = await this.client.send(new GetBucketVersioningCommand({ Bucket: this.options.bucket }));
      this.capabilities.versioning = v.Status === 'Enabled' || v.Status === 'Suspended';
    } catch (err) {
      throw this.fail('read the versioning state of', this.options.bucket, err);
    }
    try {
      const l = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.options.bucket }));
      this.capabilities.objectLock = l.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch {
      this.capabilities.objectLock = false; // no lock configuration: an ordinary bucket
    }
    return this.capabilities;
  }

  private fail(action: string, key: string, err: unknown): VaultOpsError {
    if (err instanceof VaultOpsError) return err;
    const e = err as {
      name?: string;
      Code?: string;
      code?: string;
      message?: string;
      $metadata?: { httpStatusCode?: number };
    };
    const name = e.name ?? e.Code ?? '';
    const status = e.$metadata?.httpStatusCode;
    const where = `${this.url} (${key})`;
    if (name === 'AbortError')
      return new VaultOpsError(
        'aborted',
        `${action} ${where} was interrupted; the upload was aborted and nothing was stored`,
        { cause: err },
      );
    const badCredentials =
      /InvalidAccessKeyId|SignatureDoesNotMatch|InvalidToken|ExpiredToken|CredentialsProviderError|UserNotFound/.test(
        name,
      );
    if (
      !badCredentials &&
      (name === 'NoSuchKey' ||
        name === 'NotFound' ||
        name === 'NoSuchVersion' ||
        (status === 404 && name !== 'NoSuchBucket'))
    ) {
      return new VaultOpsError('not-found', `${key} does not exist in ${this.url}`, { cause: err });
    }
    if (name === 'NoSuchBucket') {
      return new VaultOpsError(
        'store',
        `S3 bucket ${this.options.bucket} does not exist: create it (with versioning/object lock as needed) or fix ` +
          `the store URL`,
        { cause: err },
      );
    }
    if (badCredentials) {
      return new VaultOpsError(
        'store',
        `S3 rejected the credentials (${name}) while trying to ${action} ${where}: check AWS_ACCESS_KEY_ID / ` +
          `AWS_SECRET_ACCESS_KEY, the profile or the IRSA role`,
        { cause: err },
      );
    }
    if (name === 'AccessDenied' || status === 403) {
      return new VaultOpsError(
        'store',
        `S3 denied access (${name || status}) to ${action} ${where}: check the bucket policy and the credentials' ` +
          `permissions${action === 'delete' ? ' (or the object is under object-lock retention)' : ''}`,
        { cause: err },
      );
    }
    const net = e.code ?? (err as { cause?: { code?: string } }).cause?.code;
    if (net && /ECONNREFUSED|ENOTFOUND|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN/.test(net)) {
      return new VaultOpsError(
        'store',
        `cannot reach S3 to ${action} ${where} (${net}): check --s3-endpoint and the network`,
        { cause: err },
      );
    }
    return new VaultOpsError(
      'store',
      `S3 failed to ${action} ${where}: ${name || 'error'}${e.message ? ` (${e.message.split('\n')[0]})` : ''}`,
      { cause: err },
    );
  }

  private serverSideParams(options: PutOptions): Partial<PutObjectCommandInput> {
    return {
      ...(this.options.sse ? { ServerSideEncryption: this.options.sse } : {}),
      ...(this.options.sse === 'aws:kms' && this.options.kmsKeyId ? { SSEKMSKeyId: this.options.kmsKeyId } : {}),
      ...(this.options.storageClass
        ? { StorageClass: this.options.storageClass as PutObjectCommandInput['StorageClass'] }
        : {}),
      ...(options.retention
        ? { ObjectLockMode: options.retention.mode, ObjectLockRetainUntilDate: options.retention.until }
        : {}),
    };
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    if (options.ifAbsent !== false && (await objectExists(this, key))) {
      throw new KeyTakenError(key, this.url);
    }
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let bytes = 0;
    // A body that fails mid-stream must fail the upload even while a part is being sent.
    const bodyFailed = new Promise<never>((_, reject) => body.once('error', reject));
    bodyFailed.catch(() => undefined);
    const done = uploadStream(body, {
      client: this.client,
      params: {
        Bucket: this.options.bucket,
        Key: key,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...(this.serverSideParams(options) as Omit<CreateMultipartUploadCommandInput, 'Bucket' | 'Key'>),
      },
      partSize: this.options.partSize ?? DEFAULT_PART_SIZE,
      queueSize: this.options.queueSize ?? DEFAULT_QUEUE_SIZE,
      signal: abort.signal,
      createOnly: options.ifAbsent !== false,
      onProgress: (n) => {
        bytes = n;
        options.onProgress?.(bytes);
      },
    });
    done.catch(() => undefined);
    try {
      const result = await Promise.race([done, bodyFailed]);
      return { key, bytes, ...(result.versionId ? { versionId: result.versionId } : {}) };
    } catch (err) {
      abort.abort();
      // Let the upload abort itself, then make sure: abort every incomplete multipart upload of
      // this key (keys carry a random snapshot id, so they can only be ours).
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
      // A CreateMultipartUpload may still be answering: sweep a few times.
      for (let pass = 0; pass < 3; pass++) {
        await this.abortUploadsOf(key).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 150));
      }
      if (options.signal?.aborted)
        throw this.fail('upload', key, Object.assign(new Error('aborted'), { name: 'AbortError' }));
      if (err instanceof VaultOpsError) throw err;
      if (err instanceof ObjectExistsError) throw new KeyTakenError(key, this.url);
      throw this.fail('upload', key, err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  async putBytes(key: string, data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    return this.putStream(key, Readable.from([Buffer.from(data)]), options);
  }

  async get(key: string, options: { signal?: AbortSignal; versionId?: string } = {}): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          ...(options.versionId ? { VersionId: options.versionId } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      if (!out.Body) throw new VaultOpsError('store', `S3 returned no body for ${key} in ${this.url}`);
      return out.Body as Readable;
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async getBytes(key: string, options: { maxBytes?: number; signal?: AbortSignal } = {}): Promise<Buffer> {
    return await getBytesCapped(this, key, options);
  }

  async head(key: string, options: { versionId?: string } = {}): Promise<StoredObject> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          ...(options.versionId ? { VersionId: options.versionId } : {}),
        }),
      );
      return {
        key,
        bytes: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
        ...(out.ObjectLockRetainUntilDate ? { retainUntil: out.ObjectLockRetainUntilDate } : {}),
      };
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async list(options: { under?: string; signal?: AbortSignal } = {}): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.options.bucket,
            Prefix: listingPrefix(this.prefix, options.under),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue;
          const contentMd5 = md5FromEtag(o.ETag);
          out.push({
            key: o.Key,
            bytes: o.Size ?? 0,
            lastModified: o.LastModified ?? new Date(0),
            ...(contentMd5 ? { contentMd5 } : {}),
          });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail('list', listingPrefix(this.prefix, options.under) || '/', err);
    }
    return out;
  }

  async listVersions(options: { under?: string } = {}): Promise<StoredObjectVersion[]> {
    const out: StoredObjectVersion[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.options.bucket,
            Prefix: listingPrefix(this.prefix, options.under),
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
          }),
        );
        for (const v of page.Versions ?? []) {
          if (!v.Key) continue;
          out.push({
            key: v.Key,
            bytes: v.Size ?? 0,
            lastModified: v.LastModified ?? new Date(0),
            ...(v.VersionId ? { versionId: v.VersionId } : {}),
            isLatest: v.IsLatest ?? false,
            isDeleteMarker: false,
          });
        }
        for (const m of page.DeleteMarkers ?? []) {
          if (!m.Key) continue;
          out.push({
            key: m.Key,
            bytes: 0,
            lastModified: m.LastModified ?? new Date(0),
            ...(m.VersionId ? { versionId: m.VersionId } : {}),
            isLatest: m.IsLatest ?? false,
            isDeleteMarker: true,
          });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw this.fail('list versions of', listingPrefix(this.prefix, options.under) || '/', err);
    }
    return out;
  }

  async delete(key: string, options: { versionId?: string } = {}): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({
          Bucket: this.options.bucket,
          Key: key,
          ...(options.versionId ? { VersionId: options.versionId } : {}),
        }),
      );
    } catch (err) {
      throw this.fail('delete', key, err);
    }
  }

  async listIncomplete(): Promise<IncompleteUpload[]> {
    const out: IncompleteUpload[] = [];
    let keyMarker: string | undefined;
    let uploadMarker: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.options.bucket,
            Prefix: listingPrefix(this.prefix),
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadMarker ? { UploadIdMarker: uploadMarker } : {}),
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (u.Key && u.UploadId)
            out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      throw this.fail('list incomplete uploads in', listingPrefix(this.prefix) || '/', err);
    }
    return out;
  }

  private async abortUploadsOf(key: string): Promise<void> {
    for (const upload of await this.listIncomplete()) {
      if (upload.key === key) await this.abortIncomplete(upload);
    }
  }

  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: upload.key, UploadId: upload.uploadId }),
      );
    } catch (err) {
      throw this.fail('abort the incomplete upload of', upload.key, err);
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

/**
 * The MD5 an ETag stands for: S3 makes the ETag of a single-part put (without SSE-KMS or SSE-C) the hex MD5
 * of the bytes. A multipart ETag (`<hex>-<parts>`) or any other form says nothing about the content.
 */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const bare = etag?.replace(/^"|"$/g, '').toLowerCase();
  return bare && /^[0-9a-f]{32}$/.test(bare) ? bare : undefined;
}
