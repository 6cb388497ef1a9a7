import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { revokeRecordProblem, type RevokeRecord } from './revoke-record.js';

const record: RevokeRecord = {
  rotationId: 'r1',
  version: 5,
  previousVersion: 4,
  revokeAfter: '2026-06-01T00:00:00.000Z',
  state: 'pending',
};
const claimed = { rotationId: 'r1', version: 5, previousVersion: 4 };
const after = new Date('2026-06-01T00:00:01Z');
const where = 'st/revoke/secret/app';

describe('revokeRecordProblem', () => {
  test('the record confirms the metadata and the grace period is over: revoke', () => {
    assert.equal(revokeRecordProblem(record, claimed, after, where), undefined);
  });
  test('no record, or a malformed one: nothing is revoked', () => {
    assert.match(
      revokeRecordProblem(undefined, claimed, after, where)!,
      /^no revoke record at st\/revoke\/secret\/app/,
    );
    assert.match(revokeRecordProblem({ malformed: 'version' }, claimed, after, where)!, /malformed \(version\)/);
  });
  test('metadata that names another version or rotation disagrees with the record', () => {
    for (const bad of [
      { ...claimed, previousVersion: 5 },
      { ...claimed, version: 6 },
      { ...claimed, rotationId: 'other' },
    ])
      assert.match(revokeRecordProblem(record, bad, after, where)!, /disagrees with the rotation's record/);
  });
  test("the grace period is the record's, whatever the metadata says", () => {
    assert.match(
      revokeRecordProblem(record, claimed, new Date('2026-05-31T23:00:00Z'), where)!,
      /grace period ends 2026-06-01T00:00:00.000Z by the rotation's record/,
    );
  });
  test('a record that names a version not older than the rotated one is refused', () => {
    const odd = { ...record, previousVersion: 5 };
    assert.match(revokeRecordProblem(odd, { ...claimed, previousVersion: 5 }, after, where)!, /not older than 5/);
  });
});
