import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankFleet, renderFleetPage, type FleetStore } from './fleet.js';
import type { ReportModel } from './model.js';

const HOUR = 3_600_000;

/** A store's model with only what the fleet table reads. */
function store(label: string, s: { verifiedAge?: number; lastDrill?: boolean; newestAge?: number }): FleetStore {
  const summary = {
    snapshots: s.newestAge === undefined ? 0 : 1,
    totalBytes: 0,
    newest: s.newestAge === undefined ? undefined : { id: 'x', createdAt: '2027-01-01T00:00:00Z', ageMs: s.newestAge },
    newestVerified:
      s.verifiedAge === undefined
        ? undefined
        : { id: 'x', createdAt: '2027-01-01T00:00:00Z', ageMs: s.verifiedAge, drilledAt: '2027-01-01T00:00:00Z' },
    unverified: 0,
    drills: { total: 0, passed: 0, failed: 0 },
    lastDrill: s.lastDrill === undefined ? undefined : { passed: s.lastDrill },
    incomplete: 0,
  };
  const model = {
    storeUrl: `s3://b/${label}`,
    generatedAt: new Date(0),
    toolVersion: 't',
    summary,
    snapshots: [],
    drills: [],
  } as unknown as ReportModel;
  return { label, storeUrl: model.storeUrl, model };
}

test('rankFleet: unreadable, then oldest verified (none first), then failed drill, then oldest snapshot', () => {
  const stores: FleetStore[] = [
    store('fresh', { verifiedAge: 1 * HOUR, lastDrill: true, newestAge: 1 * HOUR }),
    store('old-verified', { verifiedAge: 50 * HOUR, lastDrill: true, newestAge: 1 * HOUR }),
    { label: 'broken', storeUrl: 's3://b/broken', error: 'connection refused' },
    store('never-verified', { lastDrill: false, newestAge: 2 * HOUR }),
    store('failed-drill', { verifiedAge: 1 * HOUR, lastDrill: false, newestAge: 1 * HOUR }),
    store('older-snapshot', { verifiedAge: 1 * HOUR, lastDrill: true, newestAge: 5 * HOUR }),
  ];
  assert.deepEqual(
    rankFleet(stores).map((r) => r.store.label),
    ['broken', 'never-verified', 'old-verified', 'failed-drill', 'older-snapshot', 'fresh'],
  );
});

test('renderFleetPage: a red row for an unreadable store, every value escaped, ids per store', () => {
  const page = renderFleetPage(
    [
      store('prod-eu', { verifiedAge: HOUR, lastDrill: true, newestAge: HOUR }),
      { label: 'prod-<us>', storeUrl: 's3://b/us', error: '<script>alert(1)</script> refused' },
    ],
    new Date(Date.UTC(2027, 0, 1)),
    '1.0.0',
  );
  assert.match(page, /<tr class="store-unreadable"><td><a href="#store-1-prod-us">prod-&lt;us&gt;<\/a>/);
  assert.ok(!page.includes('<script>'), 'the error is text');
  assert.match(page, /<dl class="summary" id="store-2-prod-eu-summary">/);
  assert.match(page, /<tr class="store-ok">/);
});
