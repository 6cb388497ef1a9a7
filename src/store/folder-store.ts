import { KeyTakenError } from './exists.js';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, unlink, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VaultOpsError } from '../errors.js';
import type {
  IncompleteUpload,
  PutOptions,
  PutResult,
  SnapshotStore,
  StoredObject,
  StoredObjectVersion,
} from './snapshot-store.js';

/** Temp files carry this prefix so that listings skip them and cleanup can find them. */
const TEMP_PREFIX = '.vault-ops-partial-';

/**
 * A folder as a snapshot store (a plain path or file:///abs/dir). Writes go to a temp file in the
 * same directory, are fsynced, then linked to the final name (link fails if the name exists, so
 * nothing is ever overwritten) and the directory is fsynced: a crash leaves either the complete
 * object or a temp file that `listIncomplete` reports, never a partial object under its final name.
 */
/**
 * An existing store folder must be this user's (or root's) and writable by its owner alone: anyone
 * else who can write there can put, replace or remove snapshots, which no check of ours can undo.
 */
function checkOwnership(root: string, info: { uid: number; mode: number }): void {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    throw new VaultOpsError(
      'store',
      `snapshot store folder ${root} belongs to uid ${info.uid}, not to this user (${uid}) or root: whoever owns it ` +
        'can replace the snapshots; use a folder of your own',
    );
  }
  if ((info.mode & 0o022) !== 0) {
    throw new VaultOpsError(
      'store',
      `snapshot store folder ${root} is writable by ${info.mode & 0o002 ? 'everyone' : 'its group'} (mode ` +
        `${(info.mode & 0o7777).toString(8).padStart(4, '0')}): anyone who can write there can replace snapshots; ` +
        `run chmod go-w ${root}`,
    );
  }
}

export class FolderStore implements SnapshotStore {
  readonly url: string;
  readonly prefix = '';
  readonly capabilities = { versioning: false, objectLock: false };
  /** Small file reads in flight (libuv's thread pool runs 4 at a time; more only queue). */
  readonly readConcurrency = 8;

  constructor(readonly root: string) {
    this.url = `file://${root}`;
  }

  /**
   * The folder a store URL names. A reader refuses a folder that does not exist, so that a typo in
   * a monitoring job's path is an error, not an empty catalogue (as a missing bucket is). A writer
   * (`create`) makes it with its first object (owner only, like the files in it), so that a save
   * that fails before storing anything leaves no folder behind either.
   */
  static async open(root: string, options: { create?: boolean } = {}): Promise<FolderStore> {
    const store = new FolderStore(root);
    const info = await stat(root).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw store.fail('read', '.', err);
    });
    if (options.create && !info) return store;
    if (!info?.isDirectory()) {
      throw new VaultOpsError(
        'store',
        `snapshot store folder ${root} ${info ? 'is not a folder' : 'does not exist'}: check the path ` +
          `(snapshot save creates its folder; reading commands never do)`,
      );
    }
    checkOwnership(root, info);
    return store;
  }

  private path(key: string): string {
    const full = join(this.root, ...key.split('/'));
    const rel = relative(this.root, full);
    if (rel.startsWith('..') || rel === '' || rel.split(sep).includes('..')) {
      throw new VaultOpsError('internal', `store key ${JSON.stringify(key)} escapes the folder ${this.root}`);
    }
    return full;
  }

  private fail(action: string, key: string, err: unknown): VaultOpsError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ENOENT')
      return new VaultOpsError('not-found', `${key} does not exist in ${this.url}`, { cause: err });
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new VaultOpsError(
        'store',
        `cannot ${action} ${key} in ${this.url} (${code}): the folder is not writable by this user; fix its ` +
          `permissions or choose another --to`,
        { cause: err },
      );
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new VaultOpsError(
        'store',
        `cannot ${action} ${key} in ${this.url} (${code}): the disk is full; free space or prune old snapshots`,
        { cause: err },
      );
    }
    if (code === 'EEXIST') {
      return new KeyTakenError(key, this.url, { cause: err });
    }
    if (isVaultOpsErrorLike(err)) return err as VaultOpsError;
    return new VaultOpsError('store', `cannot ${action} ${key} in ${this.url}: ${code || (err as Error).message}`, {
      cause: err,
    });
  }

  async putStream(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const target = this.path(key);
    const dir = dirname(target);
    const temp = join(dir, `${TEMP_PREFIX}${randomBytes(4).toString('hex')}-${basename(target)}`);
    let bytes = 0;
    try {
      // Snapshots hold the whole (encrypted) barrier and the manifests its layout: owner only.
      await mkdir(dir, { recursive: true, mode: 0o700 });
      if (options.ifAbsent !== false && (await exists(target))) {
        throw new KeyTakenError(key, this.url);
      }
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          options.onProgress?.(bytes);
          cb(null, chunk);
        },
      });
      const out = createWriteStream(temp, { flags: 'wx', mode: 0o600 });
      await pipeline(body, counter, out, options.signal ? { signal: options.signal } : {});
      await fsyncPath(temp);
      if (options.ifAbsent === false) await rename(temp, target);
      else {
        await link(temp, target); // fails with EEXIST rather than replacing
        await unlink(temp);
      }
      await fsyncPath(dir);
      return { key, bytes };
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      if ((err as Error).name === 'AbortError')
        throw new VaultOpsError('aborted', `writing ${key} to ${this.url} was interrupted; nothing was stored`, {
          cause: err,
        });
      if (isVaultOpsErrorLike(err)) throw err;
      throw this.fail('write', key, err);
    }
  }

  async putBytes(key: string, data: Uint8Array | string, options: PutOptions = {}): Promise<PutResult> {
    const { Readable } = await import('node:stream');
    return this.putStream(
      key,
      Readable.from([typeof data === 'string' ? Buffer.from(data) : Buffer.from(data)]),
      options,
    );
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    try {
      await stat(path);
    } catch (err) {
      throw this.fail('read', key, err);
    }
    return createReadStream(path);
  }

  async getBytes(key: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const path = this.path(key);
    const max = options.maxBytes ?? 16 * 1024 * 1024;
    try {
      const info = await stat(path);
      if (info.size > max)
        throw new VaultOpsError(
          'store',
          `${key} in ${this.url} is ${info.size} bytes, more than the ${max} expected: it is not what vault-ops wrote`,
        );
      return await readFile(path);
    } catch (err) {
      if (isVaultOpsErrorLike(err)) throw err;
      throw this.fail('read', key, err);
    }
  }

  async head(key: string): Promise<StoredObject> {
    try {
      const info = await stat(this.path(key));
      return { key, bytes: info.size, lastModified: info.mtime };
    } catch (err) {
      throw this.fail('read', key, err);
    }
  }

  async list(options: { under?: string } = {}): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    // `under` is a key prefix: its folders are walked, its last part (when not empty) starts a name.
    const under = (options.under ?? '').replace(/^\/+/, '');
    const folder = under.slice(0, under.lastIndexOf('/') + 1).replace(/\/+$/, '');
    await this.walk(folder ? this.path(folder) : this.root, async (path, name) => {
      if (name.startsWith(TEMP_PREFIX)) return;
      const key = relative(this.root, path).split(sep).join('/');
      if (!key.startsWith(under)) return;
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) out.push({ key, bytes: info.size, lastModified: info.mtime });
    });
    return out;
  }

  async listVersions(options: { under?: string } = {}): Promise<StoredObjectVersion[]> {
    return (await this.list(options)).map((o) => ({ ...o, isLatest: true, isDeleteMarker: false }));
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // idempotent, like S3
      throw this.fail('delete', key, err);
    }
  }

  async listIncomplete(): Promise<IncompleteUpload[]> {
    const out: IncompleteUpload[] = [];
    await this.walk(this.root, async (path, name) => {
      if (!name.startsWith(TEMP_PREFIX)) return;
      const info = await stat(path).catch(() => undefined);
      if (!info) return;
      const finalName = name.slice(TEMP_PREFIX.length).replace(/^[0-9a-f]{8}-/, '');
      const key = relative(this.root, join(dirname(path), finalName))
        .split(sep)
        .join('/');
      out.push({
        key,
        uploadId: relative(this.root, path).split(sep).join('/'),
        initiated: info.mtime,
        bytes: info.size,
      });
    });
    return out;
  }

  async abortIncomplete(upload: IncompleteUpload): Promise<void> {
    const path = this.path(upload.uploadId);
    if (!basename(path).startsWith(TEMP_PREFIX))
      throw new VaultOpsError('internal', `${upload.uploadId} is not a vault-ops temp file`);
    await rm(path, { force: true });
  }

  async close(): Promise<void> {}

  private async walk(dir: string, visit: (path: string, name: string) => Promise<void>): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.fail('list', relative(this.root, dir) || '.', err);
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await this.walk(path, visit);
      else if (entry.isFile()) await visit(path, entry.name);
    }
  }
}

function isVaultOpsErrorLike(err: unknown): boolean {
  return err instanceof VaultOpsError;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
