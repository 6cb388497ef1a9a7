/**
 * Memory stays flat: a ~200 MB generated archive streams through the inspector while the heap
 * (and Buffer memory) grows by a small fraction of that.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { inspectArchive } from './archive-inspector.js';
import {
  generatedKey,
  generatedStateBinBytes,
  snapshotArchiveStream,
} from '../../../test/fixtures/snapshot-archive.js';

const MiB = 1024 * 1024;

it('inspects a ~200 MB archive with flat memory', { timeout: 60_000 }, async (t) => {
  const options = { entryCount: 52_000, valueBytes: 4000, gzipLevel: 0 };
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakBuffers = before.arrayBuffers;
  let archiveBytes = 0;
  let chunks = 0;

  async function* measured(source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      archiveBytes += chunk.length;
      if (++chunks % 16 === 0) {
        const now = process.memoryUsage();
        peakHeap = Math.max(peakHeap, now.heapUsed);
        peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
      }
      yield chunk;
    }
  }

  const started = Date.now();
  const result = await inspectArchive(measured(snapshotArchiveStream(options)));
  const seconds = (Date.now() - started) / 1000;

  const heapGrowth = peakHeap - before.heapUsed;
  const bufferGrowth = peakBuffers - before.arrayBuffers;
  t.diagnostic(
    `archive ${(archiveBytes / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s; peak growth: heap ` +
      `${(heapGrowth / MiB).toFixed(1)} MiB, buffers ${(bufferGrowth / MiB).toFixed(1)} MiB`,
  );

  assert.ok(archiveBytes > 190 * MiB, `archive is ${archiveBytes} bytes`);
  assert.equal(result.entryCount, options.entryCount);
  assert.equal(result.stateBinBytes, generatedStateBinBytes(options));
  const expected: Record<string, number> = {};
  for (let i = 0; i < options.entryCount; i++) {
    const prefix = `${generatedKey(i).split('/')[0]}/`;
    expected[prefix] = (expected[prefix] ?? 0) + 1;
  }
  assert.deepEqual(result.keyCounts, expected);
  assert.ok(
    heapGrowth < 48 * MiB,
    `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB for a ${(archiveBytes / MiB).toFixed(0)} MiB archive`,
  );
  assert.ok(
    bufferGrowth < 96 * MiB,
    `Buffer memory grew by ${(bufferGrowth / MiB).toFixed(1)} MiB for a ${(archiveBytes / MiB).toFixed(0)} MiB archive`,
  );
});
