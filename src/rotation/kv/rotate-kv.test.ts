import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ExitCode } from '../../errors.js';
import { rotateKvError, type RotateKvResult } from './rotate-kv.js';
import type { SecretOutcome } from './types.js';

type Row = Omit<SecretOutcome, 'id'> & { secret: string };

const row = (secret: string, over: Partial<Row> = {}): Row => ({
  secret,
  mount: 'secret',
  path: secret.replace(/^secret\//, ''),
  outcome: 'rotated',
  ...over,
});

/** A finished run as runRotation/rotateKv report it; the flags derive from the rows as runRotation does. */
function result(rows: Row[], over: Partial<RotateKvResult> & { snapshot?: RotateKvResult['report']['snapshot'] } = {}) {
  const { snapshot, ...flags } = over;
  const summary = { rotated: 0, revoked: 0, 'not-due': 0, skipped: 0, failed: 0, quarantined: 0 };
  for (const r of rows) summary[r.outcome] += 1;
  const r: RotateKvResult = {
    report: {
      kind: 'rotation-run',
      startedAt: '2026-11-27T00:00:00.000Z',
      finishedAt: '2026-11-27T00:00:01.000Z',
      policy: '/p.yaml',
      summary,
      secrets: rows,
      ...(snapshot ? { snapshot } : {}),
    },
    rotated: summary.rotated,
    failed: rows.some((x) => x.outcome === 'failed' || x.outcome === 'quarantined' || x.failedStep === 'record'),
    testFailed: rows.some((x) => (x.outcome === 'failed' || x.outcome === 'quarantined') && x.failedStep === 'test'),
    interrupted: false,
    ...flags,
  };
  return r;
}

describe('rotate kv exit policy', () => {
  test('a run with nothing failed ends without an error (exit 0)', () => {
    const quiet = [row('secret/a'), row('secret/b', { outcome: 'not-due' }), row('secret/c', { outcome: 'skipped' })];
    assert.equal(rotateKvError(result(quiet)), undefined);
    assert.equal(rotateKvError(result([row('secret/a')], { snapshot: { id: '20261127T000001Z-abcdef' } })), undefined);
    assert.equal(rotateKvError(result([])), undefined);
  });

  test('interrupted wins over everything else: aborted, exit 1, naming where each secret stopped', () => {
    const rows = [
      row('secret/a', { outcome: 'failed', failedStep: 'set', interrupted: true }),
      row('secret/b', { outcome: 'failed', failedStep: 'test' }),
    ];
    const err = rotateKvError(result(rows, { interrupted: true, snapshot: { error: 'x' } }));
    assert.equal(err?.code, 'aborted');
    assert.equal(err?.exitCode, ExitCode.failed);
    assert.match(err!.message, /interrupted by a signal: secret\/a \(at set\) stopped at a recorded step/);
    assert.match(err!.message, /run rotate kv again to resume/);
    const idle = rotateKvError(result([row('secret/a', { outcome: 'skipped' })], { interrupted: true }));
    assert.match(idle!.message, /interrupted by a signal: no rotation was in progress/);
  });

  test('a test hook that rejected a value: verification, exit 3, naming only the tested secrets', () => {
    const rows = [
      row('secret/a', { outcome: 'failed', failedStep: 'test' }),
      row('secret/b', { outcome: 'quarantined', failedStep: 'set' }),
      row('secret/c'),
    ];
    const err = rotateKvError(result(rows));
    assert.equal(err?.code, 'verification');
    assert.equal(err?.exitCode, ExitCode.verification);
    assert.match(err!.message, /^a rotation test failed for secret\/a: the live secrets keep their old values/);
  });

  test('failed, quarantined or unrecorded secrets: exit 1, naming each', () => {
    const rows = [
      row('secret/a', { outcome: 'failed', failedStep: 'set' }),
      row('secret/b', { outcome: 'quarantined', failedStep: 'conflict' }),
      row('secret/c', { failedStep: 'record', warnings: ['rotation record not written: x'] }),
      row('secret/d'),
    ];
    const err = rotateKvError(result(rows, { snapshot: { error: 'bucket gone' } }));
    assert.equal(err?.code, 'internal');
    assert.equal(err?.exitCode, ExitCode.failed);
    assert.match(err!.message, /^rotation failed for secret\/a, secret\/b, secret\/c: see the report above/);
  });

  test('only the snapshot after the run failed: store, exit 1, saying the rotations are done', () => {
    const err = rotateKvError(result([row('secret/a')], { snapshot: { error: 'bucket gone' } }));
    assert.equal(err?.code, 'store');
    assert.equal(err?.exitCode, ExitCode.failed);
    assert.equal(
      err!.message,
      'the rotations are done, but the snapshot after them failed: bucket gone; take one with vault-ops snapshot save',
    );
  });
});
