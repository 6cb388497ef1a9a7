import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../errors.js';
import { parseDuration } from './duration.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const W = 7 * D;

describe('parseDuration', () => {
  for (const [text, ms] of [
    ['90d', 90 * D],
    ['3h', 3 * H],
    ['1h30m', H + 30 * M],
    ['60s', 60 * S],
    ['2w', 2 * W],
    ['500ms', 500],
    ['15m', 15 * M],
    ['1m', M],
    ['1ms', 1],
    ['1m1ms', M + 1],
    ['1w2d3h4m5s6ms', W + 2 * D + 3 * H + 4 * M + 5 * S + 6],
    ['0s', 0],
    ['007s', 7 * S],
    [' 3h ', 3 * H],
    ['90m', 90 * M],
    ['1000000d', 1_000_000 * D],
  ] as const) {
    it(`${JSON.stringify(text)} → ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  for (const bad of [
    '',
    '   ',
    '-1h',
    '-5s',
    '+5s',
    '5',
    'h',
    '5y',
    '5sec',
    '5 s',
    '1.5h',
    '1,5h',
    '5H',
    '1h 30m',
    '30m1h', // out of order
    '1h1h', // repeated unit
    '1s1ms1s',
    'abc',
    '1e3s',
    '0x10s',
    'Infinityd',
    '99999999999999999999ms', // above the safe integer range
    '9007199254740992ms',
    '15000000000w', // overflow after multiplying
    '10000000000000d1ms',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) =>
          e instanceof VaultOpsError &&
          e.code === 'usage' &&
          e.message === `invalid duration "${bad}": use a number with a unit such as 90d, 3h, 15m or 30s`,
      );
    });
  }

  it('rejects non-strings', () => {
    assert.throws(() => parseDuration(undefined as unknown as string), VaultOpsError);
    assert.throws(() => parseDuration(90 as unknown as string), VaultOpsError);
  });

  it('accepts the largest safe value and no more', () => {
    assert.equal(parseDuration('9007199254740991ms'), Number.MAX_SAFE_INTEGER);
  });
});
