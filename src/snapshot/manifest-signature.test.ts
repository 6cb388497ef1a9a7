import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { canonicalJson, type SnapshotManifest } from '../repository/manifest.js';
import { fakeManifest } from '../../test/helpers/manifest.js';
import { keyId, signManifest, verifyManifestSignature } from './manifest-signature.js';

const manifest: SnapshotManifest = fakeManifest({
  id: '20270101T000000Z-abcdef',
  createdAt: '2027-01-01T00:00:00.000Z',
  archive: { key: 'prod/20270101T000000Z-abcdef.snap', bytes: 10, sha256: 'a'.repeat(64) },
  snapshotMeta: { version: 1, size: 5 },
  toolVersion: '0.0.0',
});

test('a signed manifest copied under another prefix still verifies; any other change does not', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signed = signManifest(manifest, privateKey);
  verifyManifestSignature(signed, publicKey);
  const copied = { ...signed, archive: { ...signed.archive, key: 'dr/vault/20270101T000000Z-abcdef.snap' } };
  verifyManifestSignature(copied, publicKey);
  const tampered = { ...copied, archive: { ...copied.archive, sha256: 'b'.repeat(64) } };
  assert.throws(() => verifyManifestSignature(tampered, publicKey), /does not verify/);
});

test('signatures made when the key was covered (older versions) still verify where they were written', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const value = sign(null, Buffer.from(canonicalJson(manifest)), privateKey).toString('base64');
  const legacy = { ...manifest, signature: { algorithm: 'ed25519' as const, keyId: keyId(privateKey), value } };
  verifyManifestSignature(legacy, publicKey);
  const moved = { ...legacy, archive: { ...legacy.archive, key: 'elsewhere/x.snap' } };
  assert.throws(() => verifyManifestSignature(moved, publicKey), /does not verify/);
});
