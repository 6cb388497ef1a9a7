import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { VaultOpsError } from '../errors.js';
import type { SnapshotStore, StoredObject } from '../store/snapshot-store.js';
import { MAX_DRILL_RECORD_BYTES, parseDrillRecord } from './drill-record.js';
import { DEFAULT_READ_CONCURRENCY, mapInFlight } from './in-flight.js';
import { catalogueIndexKey, classifyKey } from './layout.js';
import { MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import {
  bytesSignatureProblem,
  drillSignatureProblem,
  keyId,
  manifestSignatureProblem,
  signatureOver,
} from './signature.js';
import type { CatalogueTrust } from './trust.js';

/**
 * The catalogue index (issue #23): one object, `<prefix>/catalogue-index.json.gz`, holding copies of the
 * store's manifests and drill records, so that the catalogue of 10,000 snapshots is one listing and one
 * read instead of 20,000 reads. It is a cache and never an authority:
 * - a copy counts only when the MD5 of its bytes equals the MD5 the listing reports for its key now (S3's
 *   ETag, Azure's Content-MD5, GCS's md5Hash): the index can only supply the bytes the store holds under
 *   that key, never older or other ones; every other key is read from the store as before;
 * - a copy is then parsed and checked exactly as a read object is (schema, signature, id, times);
 * - in a signed store the index must itself be signed by a verify key, or it is ignored whole;
 * - a missing, unreadable, oversized, forged or stale index only makes the catalogue slower.
 * Writers (save, verify, prune) rewrite it when many copies are missing or dead (`refreshCatalogueIndex`);
 * readers never write.
 */

const FORMAT = 'vault-ops-catalogue-index';
/** The compressed object: larger is not ours (10,000 snapshots with a drill each is ≈ 4 MB). */
export const MAX_INDEX_BYTES = 128 * 1024 * 1024;
/** The JSON inside: a cap on what a hostile gzip may inflate to. */
const MAX_INDEX_JSON_BYTES = 1024 * 1024 * 1024;
/** Below this many manifests and drill records a store has no index: reading them is quick enough. */
export const INDEX_MIN_DOCUMENTS = 64;

/** How many copies may be missing or dead before a writer rewrites the index: 1 %, at least 16. */
export function staleAllowance(documents: number): number {
  return Math.max(16, Math.floor(documents / 100));
}

const SignatureSchema = z.object({ algorithm: z.literal('ed25519'), keyId: z.string(), value: z.string() });
const IndexSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  writtenAt: z.string().max(64),
  /** [key, md5 hex, body, id of the key whose signature of the body the writer verified, or ''] */
  entries: z.array(z.tuple([z.string(), z.string(), z.string(), z.string()])),
  signature: SignatureSchema.optional(),
});
export type IndexEntry = [key: string, md5: string, body: string, signedBy: string];

/** A current copy: its bytes, and the verify key that signed them when a trusted index says so. */
export interface IndexedCopy {
  bytes: Buffer;
  /**
   * Set only when the index is signed by one of the reader's verify keys and its writer verified this
   * copy's signature with another of them (this key id): the reader may skip that ed25519 check. The
   * index's signer could sign a forged document with its own key as well, so this trusts it with
   * nothing more; the bytes are the very bytes it verified (they are in the signed index).
   */
  signedBy?: string;
}

/** What a signature of the index covers: its header and the SHA-256 of its entries as written. */
function signedBytes(writtenAt: string, entriesJson: string): Buffer {
  const digest = createHash('sha256').update(entriesJson).digest('hex');
  return Buffer.from(`${FORMAT}/1\n${writtenAt}\n${digest}\n`);
}

const md5Hex = (bytes: Buffer | string) => createHash('md5').update(bytes).digest('hex');

/** A listed manifest or drill record the index may hold a copy of (the listing gives its MD5). */
function indexable(prefix: string, o: StoredObject): o is StoredObject & { contentMd5: string } {
  if (!o.contentMd5) return false;
  const c = classifyKey(prefix, o.key);
  if (c.kind === 'manifest') return o.bytes <= MAX_MANIFEST_BYTES;
  return c.kind === 'drill' && o.bytes <= MAX_DRILL_RECORD_BYTES;
}

export interface IndexedCopies {
  /** Copies proven current (key → copy), each to be parsed and checked as if just read. */
  bodies: Map<string, IndexedCopy>;
  /** Entries the index holds, current or not. */
  entries: number;
  /** `absent`, `used`, or why it was ignored (one phrase). */
  state: string;
}

const NO_COPIES = (state: string): IndexedCopies => ({ bodies: new Map(), entries: 0, state });

/**
 * The copies of `listed` (one listing of the whole store) that the store's index holds and that are
 * current. Never fails on the index's account: a problem with it only means fewer copies.
 */
export async function readIndexedCopies(
  store: SnapshotStore,
  trust: CatalogueTrust,
  listed: readonly StoredObject[],
  options: { signal?: AbortSignal } = {},
): Promise<IndexedCopies> {
  const key = catalogueIndexKey(store.prefix);
  const object = listed.find((o) => o.key === key);
  if (!object) return NO_COPIES('absent');
  if (object.bytes > MAX_INDEX_BYTES) return NO_COPIES(`ignored: larger than ${MAX_INDEX_BYTES} bytes`);
  let parsed: z.output<typeof IndexSchema>;
  try {
    const gz = await store.getBytes(key, { maxBytes: MAX_INDEX_BYTES, ...(options.signal ? options : {}) });
    const json = gunzipSync(gz, { maxOutputLength: MAX_INDEX_JSON_BYTES }).toString('utf8');
    parsed = IndexSchema.parse(JSON.parse(json));
  } catch (err) {
    if (options.signal?.aborted) throw err;
    // Not ours, damaged, too big, or deleted since the listing: the objects are read one by one.
    return NO_COPIES(`ignored: unreadable (${err instanceof VaultOpsError ? err.code : 'not an index'})`);
  }
  const signed = trust.verifyKeys.length > 0;
  if (signed) {
    const problem = bytesSignatureProblem(
      parsed.signature,
      // The entries as written (JSON.stringify of the parsed tuples gives back the same text).
      signedBytes(parsed.writtenAt, JSON.stringify(parsed.entries)),
      trust.verifyKeys,
    );
    if (problem) return NO_COPIES(`ignored: ${problem}`);
  }
  const want = new Map<string, string>();
  for (const o of listed) if (indexable(store.prefix, o)) want.set(o.key, o.contentMd5);
  const trusted = new Set(signed ? trust.verifyKeys.map(keyId) : []);
  const bodies = new Map<string, IndexedCopy>();
  for (const [entryKey, md5, body, signedBy] of parsed.entries) {
    const current = want.get(entryKey);
    if (current === undefined || current !== md5) continue;
    const bytes = Buffer.from(body, 'utf8');
    if (md5Hex(bytes) !== current) continue;
    bodies.set(entryKey, trusted.has(signedBy) ? { bytes, signedBy } : { bytes });
  }
  return { bodies, entries: parsed.entries.length, state: 'used' };
}

/** The index object's bytes: gzip of its JSON, entries in key order, signed when a key is given. */
export function encodeCatalogueIndex(entries: readonly IndexEntry[], now: Date, signingKey?: KeyObject): Buffer {
  const sorted = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const writtenAt = now.toISOString();
  const entriesJson = JSON.stringify(sorted);
  const signature = signingKey ? signatureOver(signedBytes(writtenAt, entriesJson), signingKey) : undefined;
  const json = `{"format":"${FORMAT}","version":1,"writtenAt":"${writtenAt}","entries":${entriesJson}${
    signature ? `,"signature":${JSON.stringify(signature)}` : ''
  }}\n`;
  return gzipSync(json);
}

export interface IndexRefresh {
  /** `written`, `fresh` (current enough), or `skipped` with the reason. */
  state: 'written' | 'fresh' | 'skipped';
  reason?: string;
  /** Entries of the index as it now stands (written or fresh). */
  entries: number;
  /** Objects read from the store to write it. */
  read: number;
}

/**
 * Rewrite the store's index when more than `staleAllowance` of its copies are missing or dead: one
 * listing, the old index's current copies, a read of each missing one, then one put that replaces the
 * index. Concurrent writers may replace each other's index: the loser's copies are read from the store
 * next time, nothing else. In a signed store (verify keys) only a run with a signing key writes it.
 */
export async function refreshCatalogueIndex(
  store: SnapshotStore,
  trust: CatalogueTrust,
  options: { signingKey?: KeyObject; signal?: AbortSignal; now?: Date } = {},
): Promise<IndexRefresh> {
  const read = options.signal ? { signal: options.signal } : {};
  const listed = await store.list(read);
  const documents = listed.filter((o) => indexable(store.prefix, o));
  const old = await readIndexedCopies(store, trust, listed, read);
  if (old.state === 'absent' && documents.length < INDEX_MIN_DOCUMENTS) {
    return {
      state: 'skipped',
      reason: `fewer than ${INDEX_MIN_DOCUMENTS} manifests and drill records`,
      entries: 0,
      read: 0,
    };
  }
  if (trust.verifyKeys.length > 0 && !options.signingKey) {
    return { state: 'skipped', reason: 'a signed store: no signing key to sign the index with', entries: 0, read: 0 };
  }
  const missing = documents.filter((o) => !old.bodies.has(o.key));
  const dead = old.entries - old.bodies.size;
  if (old.state === 'used' && missing.length + dead <= staleAllowance(documents.length)) {
    return { state: 'fresh', entries: old.entries, read: 0 };
  }
  const fetched = await mapInFlight(missing, store.readConcurrency ?? DEFAULT_READ_CONCURRENCY, async (o) => {
    try {
      const bytes = await store.getBytes(o.key, { maxBytes: MAX_MANIFEST_BYTES, ...read });
      // Replaced between the listing and the read: left out, read from the store next time.
      return md5Hex(bytes) === o.contentMd5 ? bytes : undefined;
    } catch (err) {
      if (err instanceof VaultOpsError && err.code === 'not-found') return undefined;
      throw err;
    }
  });
  const fresh = new Map(missing.map((o, i) => [o.key, fetched[i]]));
  // The keys whose signatures this writer vouches for: its verify keys and its own.
  const keys = [...trust.verifyKeys, ...(options.signingKey ? [createPublicKey(options.signingKey)] : [])];
  const entries: IndexEntry[] = [];
  for (const o of documents) {
    const copy = old.bodies.get(o.key);
    const bytes = copy?.bytes ?? fresh.get(o.key);
    if (!bytes) continue;
    const signedBy = options.signingKey ? (copy?.signedBy ?? verifiedBy(store.prefix, o.key, bytes, keys)) : '';
    entries.push([o.key, o.contentMd5, bytes.toString('utf8'), signedBy]);
  }
  const body = encodeCatalogueIndex(entries, options.now ?? new Date(), options.signingKey);
  await store.putBytes(catalogueIndexKey(store.prefix), body, {
    ifAbsent: false,
    contentType: 'application/gzip',
    ...read,
  });
  return { state: 'written', entries: entries.length, read: missing.length };
}

/** The id of the key among `keys` whose signature of a manifest or drill record verifies, or ''. */
function verifiedBy(prefix: string, key: string, bytes: Buffer, keys: readonly KeyObject[]): string {
  try {
    let problem: (k: KeyObject) => string | undefined;
    if (classifyKey(prefix, key).kind === 'manifest') {
      const manifest = parseManifest(bytes, key);
      problem = (k) => manifestSignatureProblem(manifest, [k]);
    } else {
      const record = parseDrillRecord(bytes, key);
      problem = (k) => drillSignatureProblem(record, [k]);
    }
    const by = keys.find((k) => problem(k) === undefined);
    return by ? keyId(by) : '';
  } catch {
    return ''; // not a manifest or drill record of ours: the catalogue sets it apart when it reads it
  }
}
