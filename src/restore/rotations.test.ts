import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { RotationRecord } from '../repository/records.js';
import { orderAgainst, reviewRotations, type RecordSource } from './rotations.js';

function manifest(fields: { id?: string; index?: number; createdAt?: string; mounts?: string[]; cluster?: string }) {
  return {
    id: fields.id ?? '20261207T120000Z-aaaaaa',
    createdAt: fields.createdAt ?? '2026-12-07T12:00:00.000Z',
    archive: { key: 'x.snap', bytes: 1, sha256: '0'.repeat(64) },
    raft: { index: fields.index ?? 100, term: 1, configurationIndex: 1, servers: [] },
    snapshotMeta: { version: 1, size: 1 },
    cluster: { id: fields.cluster ?? 'c1', flavour: 'openbao' },
    seal: { type: 'shamir', shares: 1, threshold: 1 },
    keyCounts: {},
    mounts: (fields.mounts ?? ['database/', 'secret/', 'sys/']).map((path) => ({ path, type: 'x' })),
    authMethods: [],
    policies: [],
    durationSeconds: 1,
    toolVersion: 'test',
  } satisfies SnapshotManifest;
}

const dbRecord = (fields: Partial<RotationRecord>): RotationRecord => ({
  time: '2026-12-07T12:00:01.000Z',
  kind: 'database-root',
  rotationId: 'r1',
  mount: 'database',
  path: 'database/config/pg',
  connection: 'pg',
  clusterId: 'c1',
  ...fields,
});

const source = (records: RotationRecord[], label = '/records'): RecordSource => ({
  label,
  url: `file://${label}`,
  records,
});

test("a record is ordered by the run's own snapshots and by raft index, never by the clocks when it has either", () => {
  const m = manifest({ id: 'S', index: 100 });
  // The run's "after" snapshot holds the rotation although its record was written later by the clock.
  assert.equal(orderAgainst(dbRecord({ snapshotAfter: 'S', raftIndex: 101 }), m), 'held');
  assert.equal(orderAgainst(dbRecord({ snapshotBefore: 'S', raftIndex: 90 }), m), 'after');
  assert.equal(orderAgainst(dbRecord({ raftIndex: 100, time: '2099-01-01T00:00:00Z' }), m), 'held');
  assert.equal(orderAgainst(dbRecord({ raftIndex: 150, time: '2000-01-01T00:00:00Z' }), m), 'after');
  assert.equal(orderAgainst(dbRecord({ raftIndex: 150, clusterId: 'c2' }), m), 'other-cluster');
  assert.equal(orderAgainst(dbRecord({ clusterId: undefined }), m), 'clock-after');
  assert.equal(orderAgainst(dbRecord({ clusterId: undefined, time: '2026-12-07T11:00:00Z' }), m), 'clock-before');
});

test('rotations are matched to the mounts the snapshot holds, one entry per connection, path printed once', () => {
  const m = manifest({ mounts: ['secret/', 'sys/'] });
  const records = Array.from({ length: 7 }, (_, i) => dbRecord({ rotationId: `r${i}`, raftIndex: 200 + i }));
  const review = reviewRotations(m, [source(records)], '/snapshots');
  assert.deepEqual(review.rolledBack, []);
  assert.match(review.notes.join('\n'), /mount\(s\) the snapshot does not hold \(database\)/);

  const withMount = reviewRotations(manifest({}), [source(records)], '/snapshots');
  assert.equal(withMount.rolledBack.length, 1);
  const [entry] = withMount.rolledBack;
  assert.equal(entry?.where, 'database/config/pg');
  assert.equal(entry?.rotationIds.length, 7);
  assert.equal(entry?.certainty, 'rolled-back');
  assert.match(entry?.action ?? '', /\(7 rotations\)/);
  assert.match(entry?.action ?? '', /have the DBA set a NEW password/);
  assert.match(
    entry?.action ?? '',
    /'vault-ops runbook rotate-root --mount database --connection pg --rebootstrap --password-file FILE --snapshot-store \/snapshots --record-to \/records'/,
  );
  assert.doesNotMatch(entry?.action ?? '', /current one/);
});

test('records are read from every store, the same record found twice counts once, and stores are named', () => {
  const r = dbRecord({ raftIndex: 150 });
  const review = reviewRotations(manifest({}), [source([], '/snapshots'), source([r]), source([r], '/copy')], '/snap');
  assert.deepEqual(review.recordsRead, ['file:///snapshots', 'file:///records', 'file:///copy']);
  assert.equal(review.rolledBack.length, 1);
  assert.deepEqual(review.rolledBack[0]?.rotationIds, ['r1']);
});

test('an interrupted run alone says the rotation may not have happened and how to check', () => {
  const review = reviewRotations(
    manifest({}),
    [source([dbRecord({ rotationId: 'interrupted-2026-12-07T12:00:02.000Z', raftIndex: 150 })])],
    '/s',
  );
  assert.equal(review.rolledBack[0]?.certainty, 'may-not-have-happened');
  assert.match(
    review.rolledBack[0]?.action ?? '',
    /may not have happened: check with 'vault-ops runbook rotate-root --mount database --connection pg --dry-run'/,
  );
  // With a completed rotation beside it, the rotation certainly happened.
  const both = reviewRotations(
    manifest({}),
    [source([dbRecord({ rotationId: 'interrupted-x', raftIndex: 150 }), dbRecord({ raftIndex: 160 })])],
    '/s',
  );
  assert.equal(both.rolledBack[0]?.certainty, 'rolled-back');
});

test('KV records print mount/path and the rotate kv command; older records without raft index say so', () => {
  const review = reviewRotations(
    manifest({}),
    [
      source([
        { time: '2026-12-07T13:00:00Z', kind: 'kv-rotation', rotationId: 'k1', mount: 'secret', path: 'app/db' },
        { time: '2026-12-07T10:00:00Z', kind: 'kv-rotation', rotationId: 'k0', mount: 'secret', path: 'app/old' },
      ]),
    ],
    '/s',
  );
  assert.equal(review.rolledBack.length, 1, 'the one before the snapshot by the clock is not listed');
  assert.equal(review.rolledBack[0]?.where, 'secret/app/db');
  assert.equal(review.rolledBack[0]?.certainty, 'ordered-by-clock');
  assert.match(review.rolledBack[0]?.action ?? '', /--only secret\/app\/db --record-to \/records/);
  assert.match(review.rolledBack[0]?.action ?? '', /ordered by the clocks only/);
});

test('values from a record are quoted in the commands the plan suggests (#22: records are store objects)', () => {
  const m = manifest({});
  const review = reviewRotations(
    m,
    [source([dbRecord({ connection: 'pg; touch /tmp/owned', raftIndex: 150 })])],
    's3://snaps/prod',
  );
  const action = review.rolledBack[0]!.action;
  assert.match(action, /--connection 'pg; touch \/tmp\/owned' --rebootstrap/);
  assert.match(action, /--snapshot-store s3:\/\/snaps\/prod/);
});

test('a recovery recorded after the snapshot (recover --record-to) is listed as undone by the restore', () => {
  const review = reviewRotations(
    manifest({ index: 100 }),
    [
      source([
        {
          time: '2026-12-07T13:00:00Z',
          kind: 'recover',
          rotationId: '20261207T110000Z-abcdef-x',
          path: 'secret/app/db',
          clusterId: 'c1',
          raftIndex: 150,
          raftIndexBefore: 149,
        },
      ]),
    ],
    '/snapshots',
  );
  assert.equal(review.rolledBack.length, 1);
  assert.equal(review.rolledBack[0]!.certainty, 'rolled-back');
  assert.match(review.rolledBack[0]!.action, /^recovered from a snapshot after this one \(vault-ops recover\)/);
});
