import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { FanOut } from './fan-out.js';

/** A consumer that takes `delayMs` per chunk and remembers what it got. */
function slowSink(delayMs: number): { sink: Writable; bytes: () => number } {
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _e, cb) {
      bytes += chunk.length;
      setTimeout(cb, delayMs);
    },
  });
  return { sink, bytes: () => bytes };
}

function chunks(count: number, size: number): Readable {
  let i = 0;
  return new Readable({
    read() {
      this.push(i++ < count ? Buffer.alloc(size, i) : null);
    },
  });
}

test('every branch gets every byte, at the slowest branch`s pace, with bounded buffering', async () => {
  const fan = new FanOut(2);
  const fast = slowSink(0);
  const slow = slowSink(2);
  let maxBuffered = 0;
  const watch = setInterval(() => {
    maxBuffered = Math.max(maxBuffered, ...fan.branches.map((b) => b.readableLength + b.writableLength));
  }, 1);
  await Promise.all([
    pipeline(chunks(200, 4096), fan),
    pipeline(fan.branches[0]!, fast.sink),
    pipeline(fan.branches[1]!, slow.sink),
  ]);
  clearInterval(watch);
  assert.equal(fast.bytes(), 200 * 4096);
  assert.equal(slow.bytes(), 200 * 4096);
  assert.ok(maxBuffered <= 128 * 1024, `buffered at most ${maxBuffered} bytes per branch`);
});

test('a branch cut off mid-stream: destroyed with the reason, the others complete', async () => {
  const fan = new FanOut(3);
  const sinks = [slowSink(0), slowSink(1), slowSink(0)];
  const ends = fan.branches.map((b, i) => pipeline(b, sinks[i]!.sink));
  ends.forEach((p) => p.catch(() => undefined));
  const source = chunks(100, 4096);
  let sent = 0;
  source.on('data', () => {
    if (++sent === 20) fan.cut(1, new Error('store down'));
  });
  await pipeline(source, fan);
  const results = await Promise.allSettled(ends);
  assert.equal(results[0]!.status, 'fulfilled');
  assert.equal(results[2]!.status, 'fulfilled');
  assert.equal(results[1]!.status, 'rejected');
  assert.match(String((results[1] as PromiseRejectedResult).reason), /store down/);
  assert.equal(sinks[0]!.bytes(), 100 * 4096);
  assert.ok(sinks[1]!.bytes() < 100 * 4096);
});

test('every branch cut: the fan-out fails; a source error destroys every branch', async () => {
  const fan = new FanOut(2);
  for (const b of fan.branches) b.on('error', () => undefined).resume();
  fan.cut(0, new Error('a'));
  fan.cut(1, new Error('b'));
  await assert.rejects(pipeline(chunks(10, 10), fan), /every destination failed/);

  const fan2 = new FanOut(2);
  const ends = fan2.branches.map((b) => pipeline(b, slowSink(0).sink));
  const broken = new Readable({
    read() {
      this.destroy(new Error('vault stream broke'));
    },
  });
  await assert.rejects(pipeline(broken, fan2), /vault stream broke/);
  for (const r of await Promise.allSettled(ends)) assert.equal(r.status, 'rejected');
});

test('a branch destroyed before anyone reads it is no uncaught error, and its reader still sees why', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const fan = new FanOut(2);
    fan.on('error', () => undefined); // the save's pipeline listens to the fan-out itself
    fan.destroy(new Error('source connection reset'));
    await new Promise((r) => setImmediate(r));
    await assert.rejects(
      (async () => {
        for await (const _ of fan.branches[0]!) void _;
      })(),
      /source connection reset/,
    );
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
