import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCompactUtc } from './compact-utc.js';

describe('parseCompactUtc', () => {
  it('parses and validates', () => {
    assert.equal(parseCompactUtc('20261127T184600Z')?.toISOString(), '2026-11-27T18:46:00.000Z');
    assert.equal(parseCompactUtc('20260230T000000Z'), undefined);
  });
});
