import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { firstInOrder, mapInFlight } from './in-flight.js';

test('mapInFlight keeps the order of its items whatever order the reads finish in', async () => {
  const items = Array.from({ length: 40 }, (_, i) => i);
  const out = await mapInFlight(items, 7, async (n) => {
    await sleep((n * 7) % 11);
    return n * 2;
  });
  assert.deepEqual(
    out,
    items.map((n) => n * 2),
  );
});

test('mapInFlight never has more than its limit in flight, and uses all of it', async () => {
  let inFlight = 0;
  let peak = 0;
  await mapInFlight(
    Array.from({ length: 50 }, (_, i) => i),
    5,
    async () => {
      peak = Math.max(peak, ++inFlight);
      await sleep(2);
      inFlight--;
    },
  );
  assert.equal(peak, 5);
  assert.equal(inFlight, 0);
});

test('mapInFlight: the first failure starts no further read, waits for those in flight and is thrown', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapInFlight(
      Array.from({ length: 100 }, (_, i) => i),
      4,
      async (n) => {
        started.push(n);
        await sleep(n === 2 ? 1 : 5);
        settled++;
        if (n === 2) throw new Error('read 2 failed');
        return n;
      },
    ),
    /read 2 failed/,
  );
  assert.equal(settled, started.length, 'nothing is left running behind the caller');
  assert.ok(started.length < 10, `started ${started.length} reads after the failure`);
});

test('mapInFlight of nothing, and a limit below one, still work', async () => {
  assert.deepEqual(await mapInFlight([], 8, async () => 1), []);
  assert.deepEqual(await mapInFlight([1, 2, 3], 0, async (n) => n + 1), [2, 3, 4]);
});

test('firstInOrder answers the first match in item order, reading one window when it lies in front', async () => {
  const tested: number[] = [];
  const items = Array.from({ length: 100 }, (_, i) => i);
  const found = await firstInOrder(items, 8, async (n) => {
    tested.push(n);
    await sleep((100 - n) % 5); // later items answer first
    return n % 3 === 2;
  });
  assert.equal(found, 2);
  assert.equal(tested.length, 8);
  assert.equal(await firstInOrder(items, 8, async (n) => n === 42), 42);
  assert.equal(await firstInOrder(items, 8, async () => false), undefined);
});
