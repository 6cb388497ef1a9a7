import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../errors.js';
import { formatCompactUtc } from '../time/compact-utc.js';
import { compareSnapshotIds, isSnapshotId, newSnapshotId, parseSnapshotId } from './snapshot-id.js';

describe('newSnapshotId', () => {
  it('formats the UTC time truncated to the second plus the suffix', () => {
    const id = newSnapshotId(new Date('2026-11-27T18:46:00.987Z'), () => '3f9a1c');
    assert.equal(id, '20261127T184600Z-3f9a1c');
  });

  it('uses 6 lowercase hex characters of crypto randomness by default', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const id = newSnapshotId(new Date('2026-01-02T03:04:05Z'));
      assert.match(id, /^20260102T030405Z-[0-9a-f]{6}$/);
      ids.add(id);
    }
    assert.ok(ids.size > 40, 'suffixes should vary');
  });

  it('rejects a bad suffix and an invalid date', () => {
    assert.throws(() => newSnapshotId(new Date(), () => 'XYZ123'), VaultOpsError);
    assert.throws(() => newSnapshotId(new Date(), () => '3f9a1'), VaultOpsError);
    assert.throws(
      () => newSnapshotId(new Date(Number.NaN), () => '3f9a1c'),
      (e: unknown) => {
        return e instanceof VaultOpsError && e.code === 'usage';
      },
    );
  });

  it('is not influenced by the local time zone', () => {
    // 2026-03-29 01:30 UTC is during the Europe DST change; UTC formatting does not care.
    assert.equal(
      newSnapshotId(new Date(Date.UTC(2026, 2, 29, 1, 30, 0)), () => '000000'),
      '20260329T013000Z-000000',
    );
  });
});

describe('parseSnapshotId / isSnapshotId', () => {
  it('round-trips', () => {
    const now = new Date('2026-11-27T18:46:00Z');
    const id = newSnapshotId(now, () => 'abcdef');
    const parsed = parseSnapshotId(id);
    assert.ok(parsed);
    assert.equal(parsed.time.toISOString(), '2026-11-27T18:46:00.000Z');
    assert.equal(parsed.suffix, 'abcdef');
    assert.equal(isSnapshotId(id), true);
  });

  it('handles years below 100 without the 1900 offset', () => {
    const parsed = parseSnapshotId('00450101T000000Z-000000');
    assert.ok(parsed);
    assert.equal(parsed.time.getUTCFullYear(), 45);
    assert.equal(formatCompactUtc(parsed.time), '00450101T000000Z');
  });

  for (const bad of [
    '',
    '20261127T184600Z',
    '20261127T184600Z-3F9A1C', // uppercase
    '20261127T184600Z-3f9a1', // short suffix
    '20261127T184600Z-3f9a1cd',
    '20261127T184600-3f9a1c', // no Z
    '2026-11-27T18:46:00Z-3f9a1c',
    ' 20261127T184600Z-3f9a1c',
    '20261127T184600Z-3f9a1c\n',
    '20261327T184600Z-3f9a1c', // month 13
    '20260230T184600Z-3f9a1c', // 30 February
    '20250229T000000Z-3f9a1c', // not a leap year
    '20261127T244600Z-3f9a1c', // hour 24
    '20261127T186000Z-3f9a1c', // minute 60
    '20261127T184660Z-3f9a1c', // second 60
    '20261100T184600Z-3f9a1c', // day 0
    '../20261127T184600Z-3f9a1c',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.equal(parseSnapshotId(bad), undefined);
      assert.equal(isSnapshotId(bad), false);
    });
  }

  it('accepts 29 February in a leap year', () => {
    assert.equal(isSnapshotId('20280229T235959Z-000000'), true);
  });

  it('isSnapshotId is false for non-strings', () => {
    assert.equal(isSnapshotId(undefined), false);
    assert.equal(isSnapshotId(20261127), false);
  });
});

describe('compareSnapshotIds', () => {
  it('orders lexicographically, which is chronologically', () => {
    const times = [
      '2027-01-01T00:00:00Z',
      '2026-11-27T18:46:00Z',
      '2026-11-27T18:46:01Z',
      '2026-02-01T00:00:00Z',
      '1999-12-31T23:59:59Z',
    ];
    const ids = times.map((t, i) => newSnapshotId(new Date(t), () => `00000${i}`));
    const sorted = [...ids].sort(compareSnapshotIds);
    const byTime = [...ids].sort((a, b) => parseSnapshotId(a)!.time.getTime() - parseSnapshotId(b)!.time.getTime());
    assert.deepEqual(sorted, byTime);
    assert.equal(compareSnapshotIds(ids[0]!, ids[0]!), 0);
    assert.ok(compareSnapshotIds('20261127T184600Z-000000', '20261127T184600Z-000001') < 0);
    assert.ok(compareSnapshotIds('20261127T184601Z-000000', '20261127T184600Z-ffffff') > 0);
  });
});
