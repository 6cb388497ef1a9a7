import assert from 'node:assert/strict';
import { test } from 'node:test';
import { drillStatusText, rtoText } from './drill-status-text.js';

const summary = (passed: boolean, finishedAt: string, rtoSeconds: number) => ({
  key: 'k',
  finishedAt,
  passed,
  mode: 'recovery' as const,
  rtoSeconds,
  server: {},
});

test('DRILL column: verified with the date and RTO of the last drill, FAILED, never', () => {
  const passed = summary(true, '2026-11-28T23:59:59.500Z', 13.6);
  assert.equal(drillStatusText({ lastDrill: passed, lastPassingDrill: passed }), 'verified 2026-11-28 · 14 s');
  assert.equal(
    drillStatusText({ lastDrill: summary(false, '2026-11-29T01:00:00Z', 3), lastPassingDrill: passed }),
    'FAILED',
  );
  assert.equal(drillStatusText({ lastDrill: null, lastPassingDrill: null }), 'never');
});

test('RTO: seconds up to ten minutes, then minutes', () => {
  assert.equal(rtoText(0.4), '0 s');
  assert.equal(rtoText(599), '599 s');
  assert.equal(rtoText(754), '13 min');
});
