import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { VaultOpsError } from '../errors.js';

/**
 * Where KV v2 keeps one secret in its mount's storage (read in vault-plugin-secrets-kv v0.25 backend.go
 * and OpenBao 2.4 builtin/logical/kv, which agree; their keysutil is the same too):
 * - everything sits under `<backend-aware uuid>/` of the mount's view (`logical/<mount uuid>/`);
 * - the metadata of `a/b` at `metadata/<E(a)>/<E(b)>`: each path segment encrypted on its own by the mount's
 *   keysutil policy `policy/metadata` (AES-256-GCM, keys derived with HKDF-SHA256 from the segment's context,
 *   convergent: the nonce is an HMAC of the plaintext, so one name always encrypts the same way), the
 *   ciphertext string `<key version>:<base64>` read as a big-endian integer and written in base 62
 *   (keysutil/encrypted_key_storage.go);
 * - version `n` of `a/b` at `versions/<h[0:3]>/<h[3:]>`, h = hex sha256(salt + "a/b|n"), the salt being the
 *   string stored at `salt`.
 * Only names are computed here; the values themselves are decrypted by the scratch server's barrier.
 */

const KeyEntrySchema = z.object({
  key: z.string().min(1),
  convergent_version: z.number().int().optional(),
});
/** The keysutil policy fields the name encryption depends on; anything else is refused rather than guessed. */
export const MetadataPolicySchema = z.object({
  keys: z.record(z.string(), KeyEntrySchema),
  derived: z.literal(true),
  kdf: z.literal(1, 'the metadata key policy must derive keys with HKDF-SHA256'),
  convergent_encryption: z.literal(true),
  convergent_version: z.number().int().optional(),
  latest_version: z.number().int().positive(),
  type: z.literal(0, 'the metadata key policy must be AES-256-GCM'),
});
export type MetadataPolicy = z.output<typeof MetadataPolicySchema>;

const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const NONCE = 12;
const TAG = 16;

/** Go's big.Int SetBytes + Text(62). */
function toBase62(bytes: Buffer): string {
  let n = BigInt(`0x${bytes.toString('hex') || '0'}`);
  if (n === 0n) return '0';
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

/** Go's big.Int SetString(s, 62) + Bytes(); undefined when `s` is no base-62 number. */
function fromBase62(text: string): Buffer | undefined {
  let n = 0n;
  for (const c of text) {
    const digit = BASE62.indexOf(c);
    if (digit < 0) return undefined;
    n = n * 62n + BigInt(digit);
  }
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/** The AES key and the nonce's HMAC key of one context (keysutil getSymmetricKeys, convergent versions 2 and 3). */
function symmetricKeys(policy: MetadataPolicy, version: number, context: string): { enc: Buffer; hmac: Buffer } {
  const entry = policy.keys[String(version)];
  if (!entry) throw new VaultOpsError('verification', `the KV v2 metadata key policy has no key version ${version}`);
  const convergent = entry.convergent_version || policy.convergent_version || 1;
  if (convergent < 2 || convergent > 3)
    throw new VaultOpsError(
      'verification',
      `the KV v2 metadata key policy uses convergent version ${convergent}, which vault-ops does not read`,
    );
  const length = convergent > 2 ? 64 : 32;
  const derived = Buffer.from(hkdfSync('sha256', Buffer.from(entry.key, 'base64'), Buffer.alloc(0), context, length));
  return {
    enc: derived.subarray(0, 32),
    hmac: convergent > 2 ? derived.subarray(32, 64) : Buffer.from(context, 'utf8'),
  };
}

function encryptSegment(policy: MetadataPolicy, context: string, segment: string): string {
  const version = policy.latest_version;
  const { enc, hmac } = symmetricKeys(policy, version, context);
  const plaintext = Buffer.from(segment, 'utf8');
  const nonce = createHmac('sha256', hmac).update(plaintext).digest().subarray(0, NONCE);
  const cipher = createCipheriv('aes-256-gcm', enc, nonce);
  const sealed = Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return toBase62(Buffer.from(`${version}:${sealed.toString('base64')}`, 'utf8'));
}

/** The metadata storage key of `key`, relative to the mount's view. */
export function metadataKeyPath(policy: MetadataPolicy, backendUuid: string, key: string): string {
  const prefix = posix.join(backendUuid, 'metadata');
  const parts = posix.normalize(key).replace(/^\/+/, '').split('/');
  let path = prefix;
  let context = prefix;
  for (const part of parts) {
    path = posix.join(path, encryptSegment(policy, context, part));
    context = posix.join(context, part);
  }
  return path;
}

/**
 * One listed name under the metadata folder of `folder` (`''` for the top, `a/b` below), decrypted;
 * a folder keeps its trailing slash. Undefined when the name does not decrypt with the policy.
 */
export function decryptListedName(
  policy: MetadataPolicy,
  backendUuid: string,
  folder: string,
  name: string,
): string | undefined {
  const isFolder = name.endsWith('/');
  const bytes = fromBase62(isFolder ? name.slice(0, -1) : name);
  const match = bytes?.toString('utf8').match(/^(\d+):([A-Za-z0-9+/=]+)$/);
  if (!match) return undefined;
  const sealed = Buffer.from(match[2]!, 'base64');
  if (sealed.length < NONCE + TAG) return undefined;
  const context = posix.join(backendUuid, 'metadata', folder);
  try {
    const { enc } = symmetricKeys(policy, Number(match[1]), context);
    const decipher = createDecipheriv('aes-256-gcm', enc, sealed.subarray(0, NONCE));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
    return plain.toString('utf8') + (isFolder ? '/' : '');
  } catch {
    return undefined;
  }
}

/** The storage key of version `version` of `key`, relative to the mount's view. */
export function versionKeyPath(salt: string, backendUuid: string, key: string, version: number): string {
  const salted = createHash('sha256').update(`${salt}${key}|${version}`, 'utf8').digest('hex');
  return posix.join(backendUuid, 'versions', salted.slice(0, 3), salted.slice(3));
}
