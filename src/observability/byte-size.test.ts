import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from './byte-size.js';

test('sizes print in the binary unit that fits, one decimal', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.0 KiB');
  assert.equal(formatBytes(16_077), '15.7 KiB');
  assert.equal(formatBytes(269_169_459), '256.7 MiB');
  assert.equal(formatBytes(1024 ** 3), '1.0 GiB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1.0 MiB');
  assert.equal(formatBytes(5 * 1024 ** 4), '5.0 TiB');
  assert.equal(formatBytes(-2048), '-2.0 KiB');
});
