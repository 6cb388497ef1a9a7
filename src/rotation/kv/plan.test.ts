import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KvMetadata } from './kv.js';
import { evaluateSecret } from './plan.js';
import { parseRotationPolicy } from './policy.js';
import { localValue } from './generate.js';
import { clip, parseRotationState } from './state.js';

const policy = parseRotationPolicy(
  {
    secrets: [
      { mount: 'secret', path: 'plain', every: '30d', keys: { k: {} } },
      {
        mount: 'secret',
        path: 'hooked',
        every: '30d',
        keys: { k: {} },
        hooks: { set: ['x'], revoke: ['y'], grace: '1h' },
      },
    ],
  },
  'p.yaml',
);
const [plain, hooked] = policy.secrets as [(typeof policy.secrets)[0], (typeof policy.secrets)[0]];
const now = new Date('2026-06-01T00:00:00Z');

function meta(custom: Record<string, string>, created = '2026-05-20T00:00:00Z'): KvMetadata {
  return {
    currentVersion: 3,
    customMetadata: custom,
    maxVersions: 0,
    versions: new Map([[3, { created: new Date(created), deleted: false, destroyed: false }]]),
  };
}

describe('evaluateSecret', () => {
  test('a vault-ops-last-rotated in the future is reported as tampering, never obeyed', () => {
    for (const secret of [plain, hooked]) {
      const e = evaluateSecret(
        secret,
        meta({
          'vault-ops-state': 'current',
          'vault-ops-last-rotated': '2030-01-01T00:00:00Z',
          'vault-ops-version': '3',
        }),
        now,
        false,
      );
      assert.equal(e.action, 'skip');
      assert.match(e.reason, /^tampering: vault-ops-last-rotated is 2030-01-01T00:00:00.000Z, in the future/);
    }
    // A clock a few minutes fast on the rotating host is not tampering.
    const close = evaluateSecret(
      plain,
      meta({
        'vault-ops-state': 'current',
        'vault-ops-last-rotated': '2026-06-01T00:03:00Z',
        'vault-ops-version': '3',
      }),
      now,
      false,
    );
    assert.equal(close.action, 'none');
  });
  test('missing secret', () => {
    assert.equal(evaluateSecret(plain, undefined, now, false).action, 'missing');
  });
  test('never rotated: age of the current version decides (a first deploy rotates nothing)', () => {
    assert.equal(evaluateSecret(plain, meta({}), now, false).action, 'none');
    assert.equal(evaluateSecret(plain, meta({}, '2026-04-01T00:00:00Z'), now, false).action, 'rotate');
    assert.equal(evaluateSecret(plain, meta({}), now, true).action, 'rotate');
    assert.match(evaluateSecret(plain, meta({}), now, true).reason, /^--force/);
  });
  test("the age is Vault's creation time of the rotation's version, never the patchable marker time (#22)", () => {
    // A marker time older than the version it names: the version's creation decides, not the marker.
    const m = meta(
      { 'vault-ops-state': 'current', 'vault-ops-last-rotated': '2026-04-01T00:00:00Z', 'vault-ops-version': '3' },
      '2026-05-31T00:00:00Z',
    );
    const e = evaluateSecret(plain, m, now, false);
    assert.equal(e.action, 'none');
    assert.equal(e.lastRotatedSource, 'rotation');
    assert.equal(e.lastRotated?.toISOString(), '2026-05-31T00:00:00.000Z');
    // A recent marker on an old version (someone holding rotation back) does not make it fresh.
    const held = meta(
      { 'vault-ops-state': 'current', 'vault-ops-last-rotated': '2026-05-31T23:00:00Z', 'vault-ops-version': '3' },
      '2026-04-01T00:00:00Z',
    );
    assert.equal(evaluateSecret(plain, held, now, false).action, 'rotate');
    assert.equal(evaluateSecret(hooked, held, now, false).action, 'rotate');
    // A marker naming a version Vault does not have (or none, from an older vault-ops) counts from the current one.
    const ghost = meta(
      { 'vault-ops-state': 'current', 'vault-ops-last-rotated': '2026-05-31T23:00:00Z', 'vault-ops-version': '9' },
      '2026-04-01T00:00:00Z',
    );
    assert.equal(evaluateSecret(hooked, ghost, now, false).action, 'rotate');
    assert.equal(evaluateSecret(hooked, ghost, now, false).lastRotatedSource, 'created');
  });
  test('without hooks, a version newer than the marker names counts from its own creation', () => {
    const marker = { 'vault-ops-state': 'current', 'vault-ops-last-rotated': '2026-04-01T00:00:00Z' };
    // The marker names the current version: its creation decides.
    const marked = evaluateSecret(
      plain,
      meta({ ...marker, 'vault-ops-version': '3' }, '2026-04-01T00:00:00Z'),
      now,
      false,
    );
    assert.equal(marked.action, 'rotate');
    assert.equal(marked.lastRotatedSource, 'rotation');
    // Version 3 was written after the rotation that wrote version 2 (a person, or a run that died before its
    // marker): it is a fresh value, not due until its own age reaches `every`.
    const later = meta({ ...marker, 'vault-ops-version': '2' }, '2026-05-31T00:00:00Z');
    later.versions.set(2, { created: new Date('2026-04-01T00:00:00Z'), deleted: false, destroyed: false });
    const fresh = evaluateSecret(plain, later, now, false);
    assert.equal(fresh.action, 'none');
    assert.equal(fresh.lastRotatedSource, 'created');
    assert.equal(fresh.lastRotated?.toISOString(), '2026-05-31T00:00:00.000Z');
    assert.match(
      fresh.reason,
      /written after vault-ops' last rotation \(version 2\); current version created 2026-05-31/,
    );
    assert.equal(evaluateSecret(plain, later, now, true).action, 'rotate', '--force still rotates');
    const old = evaluateSecret(
      plain,
      meta({ ...marker, 'vault-ops-version': '2' }, '2026-04-15T00:00:00Z'),
      now,
      false,
    );
    assert.equal(old.action, 'rotate', 'an unmarked version older than every is due');
    // With hooks the creation of the version the rotation wrote keeps deciding (their pending state and lock order
    // runs).
    const h = evaluateSecret(hooked, later, now, false);
    assert.equal(h.lastRotatedSource, 'rotation');
    assert.equal(h.action, 'rotate');
  });
  test('pending rotations resume, cleanup resumes, quarantine skips unless forced', () => {
    assert.equal(
      evaluateSecret(
        hooked,
        meta({ 'vault-ops-state': 'pending', 'vault-ops-step': 'set-done', 'vault-ops-rotation-id': 'r1' }),
        now,
        false,
      ).action,
      'resume',
    );
    assert.equal(
      evaluateSecret(hooked, meta({ 'vault-ops-state': 'current', 'vault-ops-step': 'cleanup' }), now, false).action,
      'resume',
    );
    const q = meta({ 'vault-ops-state': 'pending', 'vault-ops-quarantined': 'conflict: x' });
    assert.equal(evaluateSecret(hooked, q, now, false).action, 'skip');
    assert.equal(evaluateSecret(hooked, q, now, true).action, 'resume');
  });
  test('revoke after grace; a due rotation waits for a pending revoke', () => {
    const base = {
      'vault-ops-state': 'current',
      'vault-ops-revoke': 'pending',
      'vault-ops-last-rotated': '2026-05-31T23:30:00Z',
    };
    assert.equal(
      evaluateSecret(hooked, meta({ ...base, 'vault-ops-revoke-after': '2026-06-01T00:30:00Z' }), now, false).action,
      'none',
    );
    assert.equal(
      evaluateSecret(hooked, meta({ ...base, 'vault-ops-revoke-after': '2026-05-31T23:59:00Z' }), now, false).action,
      'revoke',
    );
    assert.equal(
      evaluateSecret(hooked, meta({ ...base, 'vault-ops-revoke-after': '2026-06-01T00:30:00Z' }), now, true).action,
      'skip',
    );
  });
});

describe('state and generators', () => {
  test('parseRotationState ignores malformed keys', () => {
    const st = parseRotationState({
      'vault-ops-state': 'weird',
      'vault-ops-failures': 'x',
      'vault-ops-base-version': '7',
      'vault-ops-step': 'nope',
    });
    assert.deepEqual(st, { state: 'never', failures: 0, baseVersion: 7 });
  });
  test('clip keeps custom_metadata values under 512 bytes', () => {
    assert.ok(Buffer.byteLength(clip('é'.repeat(600))) <= 500);
  });
  test('localValue: length, charset, exclude', () => {
    const v = localValue(200, 'abc', 'c');
    assert.equal(v.length, 200);
    assert.match(v, /^[ab]+$/);
    assert.ok(v.includes('a') && v.includes('b'));
    assert.notEqual(localValue(32, 'abcdef0123456789'), localValue(32, 'abcdef0123456789'));
  });
});
