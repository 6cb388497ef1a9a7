import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, parseVersion } from './version.js';

test('versions from vault/bao output and manifests', () => {
  assert.deepEqual(parseVersion('OpenBao v2.4.0 (f9407a27fbee)'), [2, 4, 0]);
  assert.deepEqual(parseVersion("Vault v1.17.2 ('abc'), built 2024-07-05"), [1, 17, 2]);
  assert.deepEqual(parseVersion('2.5.3'), [2, 5, 3]);
  assert.equal(parseVersion('OpenBao v2.0.0-HEAD')?.join('.'), '2.0.0');
  assert.equal(parseVersion('garbage'), undefined);
  assert.ok(compareVersions([2, 4, 0], [2, 4, 0]) === 0);
  assert.ok(compareVersions([2, 3, 9], [2, 4, 0]) < 0);
  assert.ok(compareVersions([10, 0, 0], [9, 9, 9]) > 0);
});
