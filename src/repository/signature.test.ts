import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { test } from 'node:test';
import { canonicalJson, type SnapshotManifest } from './manifest.js';
import { fakeManifest } from '../../test/helpers/manifest.js';
import {
  type DocumentSignature,
  drillSignatureProblem,
  keyId,
  manifestSignatureProblem,
  signDrillRecord,
  signManifest,
  verifyManifestSignature,
} from './signature.js';

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

test('drill records: signed over every field; a changed verdict or archive, or another key, does not verify', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const record: { snapshotId: string; archiveSha256: string; finishedAt: string; passed: boolean } & {
    signature?: DocumentSignature;
  } = {
    snapshotId: '20270101T000000Z-abcdef',
    archiveSha256: 'a'.repeat(64),
    finishedAt: '2027-01-01T00:10:00.000Z',
    passed: false,
  };
  const signed = signDrillRecord(record, privateKey);
  assert.equal(drillSignatureProblem(signed, [other.publicKey, publicKey]), undefined);
  assert.match(drillSignatureProblem({ ...signed, passed: true }, [publicKey]) ?? '', /does not verify/);
  assert.match(
    drillSignatureProblem({ ...signed, archiveSha256: 'b'.repeat(64) }, [publicKey]) ?? '',
    /does not verify/,
  );
  assert.match(drillSignatureProblem(signed, [other.publicKey]) ?? '', /not by a verify key/);
  assert.equal(drillSignatureProblem(record, [publicKey]), 'not signed');
  assert.equal(manifestSignatureProblem(manifest, [publicKey]), 'not signed');
});
