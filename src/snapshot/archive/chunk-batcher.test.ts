import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ChunkBatcher } from './chunk-batcher.js';

test('small chunks come out in batches of at least the size, in order, nothing lost', async () => {
  const input = Array.from({ length: 1000 }, (_, i) => Buffer.alloc(100, i % 256));
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(input).pipe(new ChunkBatcher(4096))) out.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(out), Buffer.concat(input));
  assert.ok(out.slice(0, -1).every((c) => c.length >= 4096));
  assert.ok(out.length <= Math.ceil(100_000 / 4096) + 1);
});

test('an empty stream stays empty', async () => {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from([]).pipe(new ChunkBatcher())) out.push(chunk as Buffer);
  assert.deepEqual(out, []);
});
