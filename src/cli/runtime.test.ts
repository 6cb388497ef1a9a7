import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { minimumNode, unsupportedRuntime } from './runtime.js';

test('the minimum is package.json engines', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.engines.node, `>=${minimumNode.major}.${minimumNode.minor}`);
});

test('Node 20 and 22 before 22.12 are refused, saying what to install; 22.12+, 24 and later run', () => {
  for (const old of ['20.20.2', '22.11.0', '18.20.4']) {
    const message = unsupportedRuntime(old);
    assert.match(message ?? '', new RegExp(`Node\\.js 24 LTS .*this is Node\\.js ${old.replaceAll('.', '\\.')}`));
  }
  for (const ok of ['22.12.0', '22.23.5', '24.22.3', '26.0.0']) assert.equal(unsupportedRuntime(ok), undefined);
  assert.equal(unsupportedRuntime(), undefined, 'the Node running the tests is supported');
});
