import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DrillRecord } from './drill-record.js';
import { drillStatus, newestUnverified, newestVerified, type DrillHistory } from './drill-history.js';
import type { SnapshotManifest } from './manifest.js';

const A = '20261128T100000Z-aaaaaa';
const B = '20261127T100000Z-bbbbbb';
const C = '20261126T100000Z-cccccc';

function drill(id: string, finishedAt: string, passed: boolean, rtoSeconds = 14): DrillRecord & { key: string } {
  return {
    key: `${id}.drill-${finishedAt.replace(/[-:]/g, '').slice(0, 15)}Z.json`,
    snapshotId: id,
    finishedAt,
    passed,
    mode: 'recovery',
    server: { flavour: 'openbao', version: '2.4.0' },
    checks: [],
    timings: { download: 1, start: 1, restore: 1, unseal: 1, checks: 1, total: rtoSeconds },
    rtoSeconds,
    toolVersion: '0.1.0',
  };
}

/** Newest first, as the catalogue lists them. */
const snapshots = [A, B, C].map(
  (id) => ({ id, createdAt: `${id.slice(0, 4)}-11-${id.slice(6, 8)}` }) as SnapshotManifest,
);

describe('drill history', () => {
  it('a snapshot without records was never drilled', () => {
    assert.deepEqual(drillStatus(undefined), { lastDrill: null, lastPassingDrill: null });
  });

  it('the last drill decides what is shown; the last passing one whether the snapshot is verified', () => {
    const s = drillStatus([drill(A, '2026-11-28T11:00:00Z', true, 12), drill(A, '2026-11-29T11:00:00Z', false)]);
    assert.equal(s.lastDrill?.passed, false);
    assert.equal(s.lastDrill?.finishedAt, '2026-11-29T11:00:00Z');
    assert.equal(s.lastPassingDrill?.finishedAt, '2026-11-28T11:00:00Z');
    assert.equal(s.lastPassingDrill?.rtoSeconds, 12);
    assert.deepEqual(s.lastPassingDrill?.server, { flavour: 'openbao', version: '2.4.0' });
    assert.ok(!('checks' in s.lastDrill!), 'a summary, not the whole record');
  });

  it('unverified: the newest snapshot without a passing drill; a failed drill does not verify', () => {
    const history: DrillHistory = new Map([
      [A, [drill(A, '2026-11-28T11:00:00Z', true)]],
      [B, [drill(B, '2026-11-28T12:00:00Z', false)]],
    ]);
    assert.equal(newestUnverified(snapshots, history)?.id, B);
    assert.equal(newestVerified(snapshots, history)?.id, A);
  });

  it('every snapshot verified: no unverified one; none verified: no verified one', () => {
    const all: DrillHistory = new Map(
      [A, B, C].map((id) => [id, [drill(id, '2026-11-30T00:00:00Z', false), drill(id, '2026-11-30T01:00:00Z', true)]]),
    );
    assert.equal(newestUnverified(snapshots, all), undefined);
    assert.equal(newestVerified(snapshots, all)?.id, A);
    assert.equal(newestVerified(snapshots, new Map()), undefined);
    assert.equal(newestUnverified(snapshots, new Map())?.id, A);
    assert.equal(newestUnverified([], new Map()), undefined);
  });
});
