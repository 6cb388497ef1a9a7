import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeManifest } from '../../test/helpers/manifest.js';
import type { SnapshotManifest } from './manifest.js';
import { manifestTimeAnomaly, possibleReplays, snapshotTime } from './trust.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');

function manifest(id: string, createdAt: string, extra: Partial<SnapshotManifest> = {}): SnapshotManifest {
  return fakeManifest({
    id,
    createdAt,
    archive: { key: `${id}.snap`, bytes: 10, sha256: id.replace(/\D/g, '').padEnd(64, 'a').slice(0, 64) },
    ...extra,
  });
}

test("a snapshot's time is the one in its id", () => {
  assert.equal(snapshotTime('20261207T110000Z-abcdef').toISOString(), '2026-12-07T11:00:00.000Z');
});

test('createdAt must be the id time to the second; no future dates beyond the allowed skew', () => {
  assert.equal(manifestTimeAnomaly(manifest('20261207T110000Z-abcdef', '2026-12-07T11:00:00.999Z'), NOW), undefined);
  assert.match(
    manifestTimeAnomaly(manifest('20261207T110000Z-abcdef', '2026-12-07T11:00:01.000Z'), NOW) ?? '',
    /disagrees with the time in its id/,
  );
  assert.match(
    manifestTimeAnomaly(manifest('20261207T110000Z-abcdef', '2030-01-01T00:00:00.000Z'), NOW) ?? '',
    /disagrees/,
  );
  assert.equal(manifestTimeAnomaly(manifest('20261207T110000Z-abcdef', 'zzz'), NOW), 'createdAt is not a time');
  // Four minutes ahead: a clock a little fast, accepted; ten minutes: dated in the future.
  assert.equal(manifestTimeAnomaly(manifest('20261207T120400Z-abcdef', '2026-12-07T12:04:00.000Z'), NOW), undefined);
  assert.equal(
    manifestTimeAnomaly(manifest('20261207T121000Z-abcdef', '2026-12-07T12:10:00.000Z'), NOW),
    'dated in the future',
  );
});

test('replays: the same archive under two ids flags both; a raft index below an older one flags the newer', () => {
  const a = manifest('20261201T000000Z-aaaaaa', '2026-12-01T00:00:00.000Z', {
    raft: { index: 100, term: 2, configurationIndex: 1, servers: [] },
    cluster: { id: 'c1' },
  });
  const b = manifest('20261202T000000Z-bbbbbb', '2026-12-02T00:00:00.000Z', {
    raft: { index: 200, term: 2, configurationIndex: 1, servers: [] },
    cluster: { id: 'c1' },
  });
  const replayOfA = { ...a, id: '20261203T000000Z-cccccc', createdAt: '2026-12-03T00:00:00.000Z' };
  const flagged = possibleReplays([b, replayOfA, a]);
  assert.deepEqual([...flagged.keys()].sort(), [a.id, replayOfA.id]);
  assert.match(flagged.get(replayOfA.id)!, /same archive as snapshot 20261201T000000Z-aaaaaa/);

  const older = { ...b, id: '20261204T000000Z-dddddd', archive: { ...b.archive, sha256: 'f'.repeat(64) } };
  const lower = { ...older, raft: { ...older.raft, index: 150 } };
  const another = {
    ...lower,
    id: '20261205T000000Z-eeeeee',
    cluster: { id: 'c2' },
    archive: { ...b.archive, sha256: 'e'.repeat(64) },
  };
  const f2 = possibleReplays([a, b, lower, another]);
  assert.deepEqual([...f2.keys()], [lower.id], "another cluster's index is not compared");
  assert.match(f2.get(lower.id)!, /raft index 150 is below older snapshot 20261202T000000Z-bbbbbb's \(200\)/);
  assert.equal(possibleReplays([a, b]).size, 0);

  // Two snapshots of one second: the suffix orders nothing, createdAt does (a higher suffix taken first).
  const first = manifest('20261206T000000Z-ffffff', '2026-12-06T00:00:00.100Z', {
    raft: { index: 300, term: 2, configurationIndex: 1, servers: [] },
    cluster: { id: 'c1' },
  });
  const second = manifest('20261206T000000Z-000000', '2026-12-06T00:00:00.900Z', {
    raft: { index: 301, term: 2, configurationIndex: 1, servers: [] },
    cluster: { id: 'c1' },
  });
  assert.equal(possibleReplays([second, first]).size, 0, 'not a replay: the later one has the higher index');
});
