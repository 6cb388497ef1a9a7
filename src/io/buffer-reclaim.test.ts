import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { test } from 'node:test';
import { RECLAIM_EVERY_BYTES, streamedBytes } from './buffer-reclaim.js';

/** The young-generation collections V8 reports while `work` runs. */
async function minorCollectionsDuring(work: () => void): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)
        count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  work();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return count;
}

test('a young-generation collection every RECLAIM_EVERY_BYTES streamed, none in between', async () => {
  const chunk = 64 * 1024;
  const perCollection = RECLAIM_EVERY_BYTES / chunk;
  // Reach a collection boundary first: the counter is process-wide.
  for (let i = 0; i < perCollection; i++) streamedBytes(chunk);
  const few = await minorCollectionsDuring(() => {
    for (let i = 0; i < perCollection - 1; i++) streamedBytes(chunk);
  });
  const many = await minorCollectionsDuring(() => {
    for (let i = 0; i < perCollection * 10 + 1; i++) streamedBytes(chunk);
  });
  // Nothing else allocates here: a collection seen is one this module asked for.
  assert.ok(few <= 1, `at most one collection for less than ${RECLAIM_EVERY_BYTES} bytes (saw ${few})`);
  assert.ok(many >= 10, `ten or more collections for ten times ${RECLAIM_EVERY_BYTES} bytes (saw ${many})`);
});
