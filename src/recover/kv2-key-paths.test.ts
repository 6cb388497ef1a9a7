import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { decryptListedName, type MetadataPolicy, metadataKeyPath, versionKeyPath } from './kv2-key-paths.js';
import { decodeKeyMetadata, decodeVersion, kv2ProtoTypes } from './kv2-proto.js';

const policy = (convergent: number): MetadataPolicy => ({
  keys: { '1': { key: randomBytes(32).toString('base64'), convergent_version: convergent } },
  derived: true,
  kdf: 1,
  convergent_encryption: true,
  latest_version: 1,
  type: 0,
});

describe('KV v2 storage names (the real layout is proven against both servers in recover.test.ts)', () => {
  for (const convergent of [2, 3]) {
    test(`convergent version ${convergent}: each segment encrypts the same way every time and decrypts back`, () => {
      const p = policy(convergent);
      const path = metadataKeyPath(p, 'uuid-1', 'team/app/db');
      assert.equal(path, metadataKeyPath(p, 'uuid-1', 'team/app/db'), 'convergent: one name, one path');
      const [prefix, metadata, ...segments] = path.split('/');
      assert.deepEqual([prefix, metadata, segments.length], ['uuid-1', 'metadata', 3]);
      for (const s of segments) assert.match(s!, /^[0-9a-zA-Z]+$/, 'base 62');
      assert.equal(decryptListedName(p, 'uuid-1', '', `${segments[0]}/`), 'team/');
      assert.equal(decryptListedName(p, 'uuid-1', 'team', `${segments[1]}/`), 'app/');
      assert.equal(decryptListedName(p, 'uuid-1', 'team/app', segments[2]!), 'db');
      // The context is the folder: a segment listed under another folder does not decrypt.
      assert.equal(decryptListedName(p, 'uuid-1', 'other', segments[2]!), undefined);
      assert.equal(decryptListedName(policy(convergent), 'uuid-1', 'team/app', segments[2]!), undefined);
    });
  }

  test('version keys: sha256 of salt + "path|version", split after three hex digits', () => {
    const key = versionKeyPath('salt', 'uuid-1', 'app/db', 2);
    assert.match(key, /^uuid-1\/versions\/[0-9a-f]{3}\/[0-9a-f]{61}$/);
    assert.notEqual(key, versionKeyPath('salt', 'uuid-1', 'app/db', 3));
  });

  test('protobuf records decode: versions, times, custom metadata, the values as bytes', () => {
    const meta = kv2ProtoTypes.KeyMetadata.encode(
      kv2ProtoTypes.KeyMetadata.fromObject({
        key: 'app/db',
        versions: [
          { key: 2, value: { created_time: { seconds: 1_800_000_100 }, destroyed: true } },
          { key: 1, value: { created_time: { seconds: 1_800_000_000 }, deletion_time: { seconds: 1_800_000_050 } } },
        ],
        current_version: 2,
        oldest_version: 1,
        custom_metadata: { owner: 'team-a' },
      }),
    ).finish();
    const decoded = decodeKeyMetadata(meta);
    assert.equal(decoded.key, 'app/db');
    assert.equal(decoded.currentVersion, 2);
    assert.deepEqual(
      decoded.versions.map((v) => [v.version, v.createdTime?.toISOString(), !!v.deletionTime, v.destroyed]),
      [
        [1, new Date(1_800_000_000_000).toISOString(), true, false],
        [2, new Date(1_800_000_100_000).toISOString(), false, true],
      ],
    );
    assert.deepEqual(decoded.customMetadata, { owner: 'team-a' });
    const version = kv2ProtoTypes.Version.encode(
      kv2ProtoTypes.Version.fromObject({ data: Buffer.from('{"a":"b"}'), created_time: { seconds: 1 } }),
    ).finish();
    assert.equal(decodeVersion(version).data.toString(), '{"a":"b"}');
  });
});
