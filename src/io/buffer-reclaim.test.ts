import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { test } from 'node:test';
import { type Collect, RECLAIM_EVERY_BYTES, bufferReclaimer, v8Collector } from './buffer-reclaim.js';

test('one young-generation collection per RECLAIM_EVERY_BYTES streamed, none in between', () => {
  const asked: Array<Parameters<Collect>[0]> = [];
  const streamed = bufferReclaimer(() => (options) => asked.push(options));
  const chunk = 64 * 1024;
  const perCollection = RECLAIM_EVERY_BYTES / chunk;
  for (let i = 0; i < perCollection - 1; i++) streamed(chunk);
  assert.equal(asked.length, 0, 'nothing before RECLAIM_EVERY_BYTES');
  streamed(chunk);
  assert.equal(asked.length, 1);
  for (let i = 0; i < perCollection * 10; i++) streamed(chunk);
  assert.equal(asked.length, 11);
  assert.ok(asked.every((o) => o.type === 'minor' && o.execution === 'sync'));
});

test('without a collector (gc cannot be had) counting still works and nothing throws', () => {
  const streamed = bufferReclaimer(() => null, 10);
  for (let i = 0; i < 100; i++) streamed(7);
});

test("V8's collector is reached without --expose-gc and really collects the young generation", async () => {
  const collect = v8Collector();
  assert.equal(typeof collect, 'function');
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < 5; i++) collect?.({ type: 'minor', execution: 'sync' });
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  assert.ok(minor >= 5, `five young-generation collections seen (saw ${minor})`);
});
