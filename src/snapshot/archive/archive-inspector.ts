import { createHash, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { VaultOpsError } from '../../errors.js';
import { corrupt, quoteName } from './corrupt.js';
import { KeyCounter } from './key-counts.js';
import { parseSha256Sums } from './sha256sums.js';
import { DEFAULT_MAX_META_BYTES, parseSnapshotMeta, type SnapshotMeta } from './snapshot-meta.js';
import { DEFAULT_MAX_RECORD_BYTES, StateBinParser } from './state-bin-parser.js';
import { TarReader, type TarEntry, type TarReaderHandlers } from './tar-reader.js';

export type { SnapshotMeta } from './snapshot-meta.js';

/**
 * Streaming integrity inspection of a Raft snapshot archive (`GET /v1/sys/storage/raft/snapshot`):
 * gzip(tar) holding exactly meta.json, state.bin, SHA256SUMS and SHA256SUMS.sealed.
 *
 * Everything is checked in one pass with flat memory: state.bin flows through a SHA-256 and an
 * incremental record parser and is never held whole; meta.json and SHA256SUMS are buffered up to
 * their size limits. SHA256SUMS.sealed is encrypted by the cluster's barrier and can only be
 * checked for presence offline.
 */

export interface ArchiveInspection {
  meta: SnapshotMeta;
  /** Bytes of state.bin. */
  stateBinBytes: number;
  /** Number of StorageEntry records in state.bin. */
  entryCount: number;
  /** Record counts by key prefix at the requested depth (see keyPrefix). */
  keyCounts: Record<string, number>;
  /** SHA-256 (lowercase hex) of meta.json and state.bin as recomputed; both match SHA256SUMS. */
  sums: { metaJson: string; stateBin: string };
  sealedSumsBytes: number;
}

export interface InspectOptions {
  /** Depth of the key prefixes in keyCounts. Default 1 ("core/", "logical/", "sys/"). */
  depth?: number;
  /** meta.json larger than this is corruption. Default 1 MiB. */
  maxMetaBytes?: number;
  /** SHA256SUMS larger than this is corruption. Default 64 KiB. */
  maxSumsBytes?: number;
  /** Stops the inspection: the result rejects with an 'aborted' error. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_SUMS_BYTES = 64 * 1024;

const META = 'meta.json';
const STATE = 'state.bin';
const SUMS = 'SHA256SUMS';
const SEALED = 'SHA256SUMS.sealed';
const ENTRY_NAMES = [META, STATE, SUMS, SEALED] as const;
type EntryName = (typeof ENTRY_NAMES)[number];

const typeDescriptions: Record<TarEntry['type'], string> = {
  file: 'a regular file',
  hardlink: 'a hard link',
  symlink: 'a symbolic link',
  'character-device': 'a character device',
  'block-device': 'a block device',
  directory: 'a directory',
  fifo: 'a FIFO',
  'contiguous-file': 'a contiguous file',
  'pax-global-header': 'a PAX global header',
  'gnu-long-name': 'a GNU long name',
  'gnu-long-link-name': 'a GNU long link name',
  other: 'an entry of unknown type',
};

/** Consumes the tar stream's entries and accumulates the inspection. Throws on corruption. */
class SnapshotEntries implements TarReaderHandlers {
  private readonly seen = new Set<EntryName>();
  private current: EntryName | undefined;

  private readonly metaHash = createHash('sha256');
  private metaParts: Buffer[] = [];
  private metaBytes = 0;
  private meta: SnapshotMeta | undefined;
  private metaSum = '';

  private readonly stateHash: Hash = createHash('sha256');
  private readonly keys: KeyCounter;
  private readonly parser: StateBinParser;
  private stateSum = '';

  private sumsParts: Buffer[] = [];
  private sumsBytes = 0;
  private expectedSums: Record<'meta.json' | 'state.bin', string> | undefined;

  private sealedBytes = 0;

  constructor(
    depth: number,
    private readonly maxMetaBytes: number,
    private readonly maxSumsBytes: number,
  ) {
    this.keys = new KeyCounter(depth);
    this.parser = new StateBinParser({ onKey: (key) => this.keys.add(key), maxRecordBytes: DEFAULT_MAX_RECORD_BYTES });
  }

  onEntry(entry: TarEntry): void {
    const { name } = entry;
    if (
      name === '' ||
      name.startsWith('/') ||
      name.includes('/') ||
      name.includes('\\') ||
      name === '..' ||
      name === '.'
    ) {
      throw corrupt(
        `tar entry ${quoteName(name)} at offset ${entry.headerOffset} has an unsafe path (absolute, "..", or ` +
          `containing a path separator)`,
      );
    }
    if (!(ENTRY_NAMES as readonly string[]).includes(name)) {
      throw corrupt(
        `unexpected tar entry ${quoteName(name)} at offset ${entry.headerOffset} (expected only ` +
          `${ENTRY_NAMES.join(', ')})`,
      );
    }
    const known = name as EntryName;
    if (entry.type !== 'file')
      throw corrupt(`tar entry ${known} is ${typeDescriptions[entry.type]}, not a regular file`);
    if (this.seen.has(known)) throw corrupt(`tar entry ${known} appears more than once`);
    this.seen.add(known);
    if (known === META && entry.size > this.maxMetaBytes)
      throw corrupt(`meta.json is ${entry.size} bytes, more than the limit of ${this.maxMetaBytes}`);
    if (known === SUMS && entry.size > this.maxSumsBytes)
      throw corrupt(`SHA256SUMS is ${entry.size} bytes, more than the limit of ${this.maxSumsBytes}`);
    this.current = known;
  }

  onData(chunk: Uint8Array): void {
    switch (this.current) {
      case META:
        this.metaHash.update(chunk);
        this.metaBytes += chunk.length;
        this.metaParts.push(Buffer.from(chunk));
        break;
      case STATE:
        this.stateHash.update(chunk);
        this.parser.push(chunk);
        break;
      case SUMS:
        this.sumsBytes += chunk.length;
        this.sumsParts.push(Buffer.from(chunk));
        break;
      case SEALED:
        this.sealedBytes += chunk.length;
        break;
      case undefined:
        break;
    }
  }

  onEntryEnd(): void {
    switch (this.current) {
      case META:
        this.metaSum = this.metaHash.digest('hex');
        this.meta = parseSnapshotMeta(Buffer.concat(this.metaParts, this.metaBytes));
        this.metaParts = [];
        break;
      case STATE:
        this.parser.finish();
        this.stateSum = this.stateHash.digest('hex');
        break;
      case SUMS:
        this.expectedSums = parseSha256Sums(Buffer.concat(this.sumsParts, this.sumsBytes), [META, STATE]);
        this.sumsParts = [];
        break;
      case SEALED:
        if (this.sealedBytes === 0) throw corrupt('SHA256SUMS.sealed is empty');
        break;
      case undefined:
        break;
    }
    this.current = undefined;
  }

  /** After the tar stream ended completely: the cross-entry checks. */
  conclude(): ArchiveInspection {
    const missing = ENTRY_NAMES.filter((name) => !this.seen.has(name));
    if (missing.length > 0)
      throw corrupt(`the archive has no ${missing.join(', ')} entr${missing.length === 1 ? 'y' : 'ies'}`);
    const meta = this.meta!;
    const expected = this.expectedSums!;
    if (expected[META] !== this.metaSum) throw corrupt('meta.json sha256 does not match SHA256SUMS');
    if (expected[STATE] !== this.stateSum) throw corrupt('state.bin sha256 does not match SHA256SUMS');
    if (meta.size !== this.parser.bytes) {
      throw corrupt(`meta.json Size is ${meta.size} but state.bin is ${this.parser.bytes} bytes`);
    }
    return {
      meta,
      stateBinBytes: this.parser.bytes,
      entryCount: this.parser.recordCount,
      keyCounts: this.keys.toRecord(),
      sums: { metaJson: this.metaSum, stateBin: this.stateSum },
      sealedSumsBytes: this.sealedBytes,
    };
  }
}

/** A zlib failure as a precise corruption message (zlib's own messages are fixed strings). */
function gzipError(err: unknown): VaultOpsError {
  const message = err instanceof Error ? err.message : '';
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'Z_BUF_ERROR' || message === 'unexpected end of file')
    return corrupt('gzip stream is truncated (unexpected end of file)', err);
  // The first member's magic was checked before zlib saw it, so a bad header is a later "member".
  if (message === 'incorrect header check') return corrupt('trailing data after the end of the gzip stream', err);
  if (message === 'incorrect data check') return corrupt('gzip stream failed its CRC-32 check', err);
  if (message === 'incorrect length check') return corrupt('gzip stream failed its length check', err);
  const detail = /^[\w .,'-]{1,80}$/.test(message) ? message : 'zlib error';
  return corrupt(`gzip stream is invalid (${detail})`, err);
}

function abortedError(signal: AbortSignal): VaultOpsError {
  return new VaultOpsError('aborted', 'snapshot inspection was aborted', { cause: signal.reason });
}

function noop(): void {}

/**
 * Returns a Writable to pipe the (gzip) archive bytes into, and a promise for the result.
 *
 * - The input applies ordinary backpressure: each chunk's write callback runs once it has been
 *   decompressed and inspected, so it works with `stream.pipeline` and as one branch of a tee.
 * - The input never emits 'error' for a bad archive: once the result has settled it accepts and
 *   discards the remaining bytes, so a tee's other branch (an upload, say) is never stalled.
 *   It finishes only after the result has settled.
 * - The result always settles: corruption rejects with a 'snapshot-corrupt' VaultOpsError, the
 *   signal with an 'aborted' one; destroying the input before it finished rejects with the
 *   destroy error (or an 'aborted' error). The result is marked handled, so a rejection that
 *   nobody awaits yet does not crash the process.
 */
export function createArchiveInspector(options: InspectOptions = {}): {
  input: Writable;
  result: Promise<ArchiveInspection>;
} {
  const { depth = 1, maxMetaBytes = DEFAULT_MAX_META_BYTES, maxSumsBytes = DEFAULT_MAX_SUMS_BYTES, signal } = options;
  // Bad options are a programming error: throw now rather than report a corrupt archive.
  const entries = new SnapshotEntries(depth, maxMetaBytes, maxSumsBytes);
  const tar = new TarReader(entries);

  let resolveResult!: (inspection: ArchiveInspection) => void;
  let rejectResult!: (err: unknown) => void;
  const result = new Promise<ArchiveInspection>((resolve, reject) => {
    resolveResult = resolve;
    rejectResult = reject;
  });
  result.catch(noop);

  let settled = false;
  let bytesIn = 0;
  let gunzipEnded = false;
  let pendingWrite: ((err?: Error | null) => void) | undefined;
  let pendingFinal: ((err?: Error | null) => void) | undefined;

  // Large output chunks: the default 16 KiB makes ~16,000 callbacks per 256 MB (see test/bench).
  const gunzip: Gunzip = createGunzip({ chunkSize: 256 * 1024 });

  const releaseCallbacks = () => {
    const write = pendingWrite;
    const final = pendingFinal;
    pendingWrite = undefined;
    pendingFinal = undefined;
    write?.();
    final?.();
  };

  const stop = () => {
    signal?.removeEventListener('abort', onAbort);
    gunzip.removeListener('data', onData);
    gunzip.removeListener('end', onGunzipEnd);
    gunzip.on('error', noop);
    gunzip.destroy();
  };

  const fail = (err: unknown) => {
    if (settled) return;
    settled = true;
    stop();
    rejectResult(err);
    releaseCallbacks();
  };

  const succeed = (inspection: ArchiveInspection) => {
    if (settled) return;
    settled = true;
    stop();
    resolveResult(inspection);
    releaseCallbacks();
  };

  function onAbort() {
    fail(abortedError(signal!));
  }

  function onData(chunk: Buffer) {
    if (settled) return;
    try {
      tar.push(chunk);
    } catch (err) {
      fail(err);
    }
  }

  function conclude() {
    if (settled) return;
    try {
      if (gunzip.bytesWritten !== bytesIn) throw corrupt('trailing data after the end of the gzip stream');
      tar.finish();
      succeed(entries.conclude());
    } catch (err) {
      fail(err);
    }
  }

  function onGunzipEnd() {
    gunzipEnded = true;
    if (pendingFinal !== undefined) conclude();
  }

  gunzip.on('data', onData);
  gunzip.on('end', onGunzipEnd);
  gunzip.on('error', (err) => fail(gzipError(err)));

  const checkMagic = (chunk: Uint8Array) => {
    for (let i = 0; i < chunk.length && bytesIn + i < 2; i++) {
      if (chunk[i] !== [0x1f, 0x8b][bytesIn + i]) throw corrupt('not gzip-compressed data (bad magic number)');
    }
  };

  const input = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (settled) return callback();
      try {
        checkMagic(chunk);
        // zlib would silently stop at the end of the gzip stream; more input is garbage.
        if (gunzipEnded && chunk.length > 0) throw corrupt('trailing data after the end of the gzip stream');
      } catch (err) {
        fail(err);
        return callback();
      }
      bytesIn += chunk.length;
      pendingWrite = callback;
      gunzip.write(chunk, () => {
        if (pendingWrite === callback) {
          pendingWrite = undefined;
          callback();
        }
      });
    },
    final(callback) {
      if (settled) return callback();
      pendingFinal = callback;
      if (bytesIn === 0) return fail(corrupt('the archive is empty (0 bytes)'));
      if (gunzipEnded) return conclude();
      gunzip.end();
    },
    destroy(err, callback) {
      if (!settled) {
        fail(
          err ??
            new VaultOpsError(
              'aborted',
              'snapshot inspection stopped: the input was closed before the end of the archive',
            ),
        );
      }
      callback(err);
    },
  });

  if (signal?.aborted) fail(abortedError(signal));
  else signal?.addEventListener('abort', onAbort, { once: true });

  return { input, result };
}

/** Inspects a whole archive stream; stops reading it at the first problem found. */
export async function inspectArchive(
  source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  options: InspectOptions = {},
): Promise<ArchiveInspection> {
  const { input, result } = createArchiveInspector(options);
  const stopReading = new AbortController();
  result.catch(() => stopReading.abort());
  const [piped, inspected] = await Promise.allSettled([
    pipeline(source, input, { signal: stopReading.signal }),
    result,
  ]);
  if (inspected.status === 'rejected') throw inspected.reason;
  if (piped.status === 'rejected') throw piped.reason;
  return inspected.value;
}
