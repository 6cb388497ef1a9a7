import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KeyCounter, keyPrefix } from './key-counts.js';

describe('keyPrefix', () => {
  it('cuts after the d-th slash', () => {
    assert.equal(keyPrefix('core/keyring', 1), 'core/');
    assert.equal(keyPrefix('logical/abc/data/x', 1), 'logical/');
    assert.equal(keyPrefix('logical/abc/data/x', 2), 'logical/abc/');
    assert.equal(keyPrefix('logical/abc/data/x', 3), 'logical/abc/data/');
    assert.equal(keyPrefix('sys/token/', 2), 'sys/token/');
  });

  it('returns a key with fewer slashes as its own prefix', () => {
    assert.equal(keyPrefix('setup', 1), 'setup');
    assert.equal(keyPrefix('core/keyring', 2), 'core/keyring');
    assert.equal(keyPrefix('', 1), '');
  });

  it('rejects a depth that is not a positive integer', () => {
    assert.throws(() => keyPrefix('a', 0), RangeError);
    assert.throws(() => keyPrefix('a', 1.5), RangeError);
  });
});

describe('KeyCounter', () => {
  it('counts by prefix, sorted, with any prefix text as plain data', () => {
    const counter = new KeyCounter(1);
    for (const key of ['sys/a', 'core/b', 'core/c', '__proto__', 'constructor/x']) counter.add(key);
    const record = counter.toRecord();
    assert.deepEqual(Object.keys(record), ['__proto__', 'constructor/', 'core/', 'sys/']);
    // biome-ignore lint/suspicious/noProto: the key under test is literally __proto__
    // biome-ignore lint/complexity/useLiteralKeys: record.__proto__ would read the prototype, not the key
    assert.equal(record['__proto__'], 1);
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
  });
});
