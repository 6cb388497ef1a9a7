import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';
import { canonicalJson, type SnapshotManifest } from './manifest.js';

/**
 * ed25519 manifest signatures. Checksums prove a download is intact, not that nobody who can
 * write to the bucket replaced archive and manifest together; a signature by a key the bucket
 * writers don't hold does. Keys are PEM files (openssl genpkey -algorithm ed25519).
 */
async function readKey(path: string, kind: 'private' | 'public'): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `cannot read the ${kind === 'private' ? 'signing' : 'verify'} key ${path} ` +
        `(${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  try {
    const key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not ed25519 but ${key.asymmetricKeyType}`);
    return key;
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `${path} is not an ed25519 ${kind} key in PEM form: create one with 'openssl genpkey -algorithm ed25519'`,
      { cause: err },
    );
  }
}

export const readSigningKey = (path: string) => readKey(path, 'private');
export const readVerifyKey = (path: string) => readKey(path, 'public');

/** Short id of a public key: the first 16 hex chars of the SHA-256 of its DER form. */
export function keyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What a signature covers: the canonical JSON of the manifest without its signature and without
 * `archive.key`. The key only says where the archive lies in one store (its prefix); the archive
 * is identified by the signed id, size and sha256. Leaving it out lets `snapshot copy` put a
 * signed snapshot under another prefix and it still verifies there.
 */
function signedBytes(manifest: SnapshotManifest): Buffer {
  const { signature: _ignored, archive, ...rest } = manifest;
  const { key: _key, ...located } = archive;
  return Buffer.from(canonicalJson({ ...rest, archive: located }));
}

/** Signatures made before `archive.key` was left out covered it (they verify where they were written). */
function legacySignedBytes(manifest: SnapshotManifest): Buffer {
  const { signature: _ignored, ...rest } = manifest;
  return Buffer.from(canonicalJson(rest));
}

export function signManifest(manifest: SnapshotManifest, key: KeyObject): SnapshotManifest {
  return { ...manifest, signature: signatureOver(signedBytes(manifest), key) };
}

/** An ed25519 signature as manifests and drill records carry it. */
export interface DocumentSignature {
  algorithm: 'ed25519';
  keyId: string;
  value: string;
}

export function signatureOver(bytes: Buffer, key: KeyObject): DocumentSignature {
  return { algorithm: 'ed25519', keyId: keyId(key), value: sign(null, bytes, key).toString('base64') };
}

/**
 * Why a signed document is not trusted by any of `keys`, or undefined when one of them verifies one of
 * the byte forms it may have been signed over. The reason is one phrase, for lists and errors alike.
 */
function signatureProblem(
  signature: DocumentSignature | undefined,
  forms: readonly Buffer[],
  keys: readonly KeyObject[],
): string | undefined {
  if (!signature) return 'not signed';
  let value: Buffer;
  try {
    value = Buffer.from(signature.value, 'base64');
  } catch {
    return 'signature is not base64';
  }
  for (const key of keys) {
    for (const bytes of forms) {
      try {
        if (verify(null, bytes, key, value)) return undefined;
      } catch {
        // A malformed signature value (wrong length) verifies with no key.
      }
    }
  }
  const ids = keys.map(keyId);
  return ids.includes(signature.keyId)
    ? `signature by key ${signature.keyId} does not verify: altered after signing`
    : `signed by key ${signature.keyId}, not by a verify key (${ids.join(', ')})`;
}

/** Why a signature over `bytes` (`signatureOver`) is not by one of `keys` (undefined: it is). */
export function bytesSignatureProblem(
  signature: DocumentSignature | undefined,
  bytes: Buffer,
  keys: readonly KeyObject[],
): string | undefined {
  return signatureProblem(signature, [bytes], keys);
}

/** Why the manifest is not signed by one of `keys` (undefined: it is). */
export function manifestSignatureProblem(manifest: SnapshotManifest, keys: readonly KeyObject[]): string | undefined {
  return signatureProblem(manifest.signature, [signedBytes(manifest), legacySignedBytes(manifest)], keys);
}

/** Throws 'verification' (exit 3) when unsigned, signed by another key, or tampered with. */
export function verifyManifestSignature(manifest: SnapshotManifest, key: KeyObject | readonly KeyObject[]): void {
  const problem = manifestSignatureProblem(manifest, Array.isArray(key) ? key : [key as KeyObject]);
  if (problem === 'not signed') {
    throw new VaultOpsError(
      'verification',
      `manifest of snapshot ${manifest.id} is not signed, but a verify key was given: refusing to trust it`,
    );
  }
  if (problem) {
    throw new VaultOpsError(
      'verification',
      `manifest signature of snapshot ${manifest.id} does not verify (${problem}): the manifest was altered or ` +
        'signed by another key',
    );
  }
}

/**
 * Drill records are signed over their canonical JSON without the signature: every field, including
 * the snapshot id and the archive sha256 they are bound to.
 */
function drillSignedBytes<T extends { signature?: DocumentSignature | undefined }>(record: T): Buffer {
  const { signature: _ignored, ...rest } = record;
  return Buffer.from(canonicalJson(rest));
}

export function signDrillRecord<T extends { signature?: DocumentSignature | undefined }>(record: T, key: KeyObject): T {
  return { ...record, signature: signatureOver(drillSignedBytes(record), key) };
}

/** Why the drill record is not signed by one of `keys` (undefined: it is). */
export function drillSignatureProblem<T extends { signature?: DocumentSignature | undefined }>(
  record: T,
  keys: readonly KeyObject[],
): string | undefined {
  return signatureProblem(record.signature, [drillSignedBytes(record)], keys);
}
