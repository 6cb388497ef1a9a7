import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shellArg } from './errors.js';

test('shellArg: plain words as they are; anything else single-quoted for a POSIX shell', () => {
  assert.equal(shellArg('database'), 'database');
  assert.equal(shellArg('s3://bucket/prefix'), 's3://bucket/prefix');
  assert.equal(shellArg('db; rm -rf /'), "'db; rm -rf /'");
  assert.equal(shellArg("it's"), "'it'\\''s'");
  assert.equal(shellArg('$(id)'), "'$(id)'");
  assert.equal(shellArg(''), "''");
  assert.equal(shellArg('a\u001b[2Jb\nc'), "'a?[2Jb?c'");
});
