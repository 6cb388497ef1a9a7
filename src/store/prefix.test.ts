import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../errors.js';
import { normalizePrefix } from './prefix.js';

const isUsage = (e: unknown): boolean => e instanceof VaultOpsError && e.code === 'usage';

describe('normalizePrefix', () => {
  for (const [input, expected] of [
    ['', ''],
    ['/', ''],
    ['///', ''],
    ['vault', 'vault'],
    ['/vault/prod/', 'vault/prod'],
    ['vault/prod//', 'vault/prod'],
    ['a.b/c..d/...', 'a.b/c..d/...'],
  ] as const) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normalizePrefix(input), expected);
    });
  }

  for (const bad of [
    '..',
    '../x',
    'x/..',
    'x/../y',
    'x/./y',
    '.',
    'x//y',
    'x\\y',
    'x\ny',
    'x\u0000',
    'x\u007f',
    'x\ty',
  ]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalizePrefix(bad), isUsage);
    });
  }
});
