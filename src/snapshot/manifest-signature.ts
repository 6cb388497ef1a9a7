import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';
import { canonicalJson, type SnapshotManifest } from '../repository/manifest.js';

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
  const value = sign(null, signedBytes(manifest), key).toString('base64');
  return { ...manifest, signature: { algorithm: 'ed25519', keyId: keyId(key), value } };
}

/** Throws 'verification' (exit 3) when unsigned, signed by another key, or tampered with. */
export function verifyManifestSignature(manifest: SnapshotManifest, key: KeyObject): void {
  if (!manifest.signature) {
    throw new VaultOpsError(
      'verification',
      `manifest of snapshot ${manifest.id} is not signed, but a verify key was given: refusing to trust it`,
    );
  }
  const value = Buffer.from(manifest.signature.value, 'base64');
  const ok = verify(null, signedBytes(manifest), key, value) || verify(null, legacySignedBytes(manifest), key, value);
  if (!ok) {
    const other =
      manifest.signature.keyId !== keyId(key) ? ` (signed by key ${manifest.signature.keyId}, not ${keyId(key)})` : '';
    throw new VaultOpsError(
      'verification',
      `manifest signature of snapshot ${manifest.id} does not verify${other}: the manifest was altered or signed by ` +
        `another key`,
    );
  }
}
