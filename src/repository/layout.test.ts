import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../errors.js';
import { archiveKey, classifyKey, drillKey, manifestKey, recordKey, recordsPrefix } from './layout.js';

const ID = '20261127T184600Z-3f9a1c';
const isUsage = (e: unknown): boolean => e instanceof VaultOpsError && e.code === 'usage';

describe('keys', () => {
  it('builds archive and manifest keys', () => {
    assert.equal(archiveKey('vault/prod', ID, { encrypted: false }), `vault/prod/${ID}.snap`);
    assert.equal(archiveKey('/vault/prod/', ID, { encrypted: true }), `vault/prod/${ID}.snap.age`);
    assert.equal(manifestKey('vault/prod', ID), `vault/prod/${ID}.manifest.json`);
  });

  it('omits the separator for an empty prefix', () => {
    assert.equal(archiveKey('', ID, { encrypted: false }), `${ID}.snap`);
    assert.equal(manifestKey('/', ID), `${ID}.manifest.json`);
    assert.equal(recordsPrefix(''), 'records/');
    assert.equal(
      recordKey('', new Date('2026-11-27T18:46:00.5Z'), 'rotation', 'r1'),
      'records/20261127T184600Z-rotation-r1.json',
    );
  });

  it('builds record keys', () => {
    assert.equal(recordsPrefix('vault/prod/'), 'vault/prod/records/');
    assert.equal(
      recordKey('vault/prod', new Date('2026-01-02T03:04:05Z'), 'unseal-rekey', '20260102T030405Z-abcdef'),
      'vault/prod/records/20260102T030405Z-unseal-rekey-20260102T030405Z-abcdef.json',
    );
    assert.ok(recordKey('p', new Date(), 'k', 'r').startsWith(recordsPrefix('p')));
  });

  it('rejects bad ids, kinds, rotation ids, times and prefixes', () => {
    assert.throws(() => archiveKey('p', '../etc/passwd', { encrypted: false }), isUsage);
    assert.throws(() => manifestKey('p', 'latest'), isUsage);
    assert.throws(() => archiveKey('../p', ID, { encrypted: false }), isUsage);
    assert.throws(() => recordKey('p', new Date(), 'a/b', 'r'), isUsage);
    assert.throws(() => recordKey('p', new Date(), 'k', '../r'), isUsage);
    assert.throws(() => recordKey('p', new Date(), '', 'r'), isUsage);
    assert.throws(() => recordKey('p', new Date(), 'k', ''), isUsage);
    assert.throws(() => recordKey('p', new Date(Number.NaN), 'k', 'r'), isUsage);
    assert.throws(() => recordsPrefix('a\\b'), isUsage);
  });
});

describe('classifyKey', () => {
  it('classifies archives, manifests and records under a prefix', () => {
    assert.deepEqual(classifyKey('vault/prod', `vault/prod/${ID}.snap`), { kind: 'archive', id: ID, encrypted: false });
    assert.deepEqual(classifyKey('vault/prod/', `vault/prod/${ID}.snap.age`), {
      kind: 'archive',
      id: ID,
      encrypted: true,
    });
    assert.deepEqual(classifyKey('vault/prod', `vault/prod/${ID}.manifest.json`), { kind: 'manifest', id: ID });
    assert.deepEqual(classifyKey('vault/prod', 'vault/prod/records/20261127T184600Z-rotation-r1.json'), {
      kind: 'record',
    });
  });

  it('classifies with an empty prefix', () => {
    assert.deepEqual(classifyKey('', `${ID}.snap`), { kind: 'archive', id: ID, encrypted: false });
    assert.deepEqual(classifyKey('', `${ID}.manifest.json`), { kind: 'manifest', id: ID });
    assert.deepEqual(classifyKey('', 'records/x.json'), { kind: 'record' });
    assert.deepEqual(classifyKey('', `sub/${ID}.snap`), { kind: 'other' });
  });

  it('round-trips every key the layout builds', () => {
    for (const prefix of ['', 'a', 'a/b/c']) {
      assert.deepEqual(classifyKey(prefix, archiveKey(prefix, ID, { encrypted: true })), {
        kind: 'archive',
        id: ID,
        encrypted: true,
      });
      assert.deepEqual(classifyKey(prefix, archiveKey(prefix, ID, { encrypted: false })), {
        kind: 'archive',
        id: ID,
        encrypted: false,
      });
      assert.deepEqual(classifyKey(prefix, manifestKey(prefix, ID)), { kind: 'manifest', id: ID });
      assert.deepEqual(classifyKey(prefix, recordKey(prefix, new Date(), 'k', 'r')), { kind: 'record' });
    }
  });

  for (const [prefix, key] of [
    ['vault/prod', `vault/prod/nested/${ID}.snap`], // not a direct child
    ['vault/prod', `vault/prodx/${ID}.snap`], // sibling prefix sharing a string prefix
    ['vault/prod', `vault/${ID}.snap`], // parent
    ['vault/prod', `${ID}.snap`],
    ['vault/prod', 'vault/prod/20261127T184600Z-3f9a1c.snap.tmp'],
    ['vault/prod', 'vault/prod/20261127T184600Z-3F9A1C.snap'], // invalid id
    ['vault/prod', 'vault/prod/20260230T184600Z-3f9a1c.snap'], // invalid date
    ['vault/prod', 'vault/prod/latest.snap'],
    ['vault/prod', 'vault/prod/.snap'],
    ['vault/prod', 'vault/prod/records/'],
    ['vault/prod', 'vault/prod/records/.json'],
    ['vault/prod', 'vault/prod/records/x.txt'],
    ['vault/prod', 'vault/prod/records/sub/x.json'], // not a direct child of records/
    ['vault/prod', 'vault/prod/records'],
    ['vault/prod', 'vault/prod/'],
    ['vault/prod', 'vault/prod'],
  ] as const) {
    it(`${JSON.stringify(key)} under ${JSON.stringify(prefix)} is other`, () => {
      assert.deepEqual(classifyKey(prefix, key), { kind: 'other' });
    });
  }

  it('rejects an invalid prefix', () => {
    assert.throws(() => classifyKey('a/../b', `a/${ID}.snap`), isUsage);
  });
});

describe('drill record keys', () => {
  it('builds and classifies <id>.drill-<time>.json beside the manifest', () => {
    const key = drillKey('vault/prod', ID, new Date('2026-11-28T10:15:00.700Z'));
    assert.equal(key, `vault/prod/${ID}.drill-20261128T101500Z.json`);
    const c = classifyKey('vault/prod', key);
    assert.equal(c.kind, 'drill');
    assert.ok(c.kind === 'drill' && c.id === ID && c.time.toISOString() === '2026-11-28T10:15:00.000Z');
    assert.equal(classifyKey('', `${ID}.drill-20261128T101500Z.json`).kind, 'drill');
  });

  it('does not take other names for drill records', () => {
    assert.equal(classifyKey('', `${ID}.drill-20261399T101500Z.json`).kind, 'other');
    assert.equal(classifyKey('', `latest.drill-20261128T101500Z.json`).kind, 'other');
    assert.equal(classifyKey('', `${ID}.drill-20261128T101500Z.json.tmp`).kind, 'other');
    assert.equal(classifyKey('p', `p/sub/${ID}.drill-20261128T101500Z.json`).kind, 'other');
    assert.throws(() => drillKey('p', 'latest', new Date()), isUsage);
  });
});
