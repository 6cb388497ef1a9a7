import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { VaultOpsError } from '../../src/errors.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';

/**
 * The contract every SnapshotStore implementation must keep (see src/store/snapshot-store.ts).
 * Each store's test file calls this with a factory for a fresh, empty store.
 */
export function storeContract(name: string, fresh: () => Promise<SnapshotStore>): void {
  const key = (store: SnapshotStore, k: string) => (store.prefix ? `${store.prefix}/${k}` : k);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  async function readAll(r: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  /** A stream that yields `good` bytes and then fails, like a Vault connection cut mid-snapshot. */
  function failingStream(good: number): Readable {
    let sent = 0;
    return new Readable({
      read() {
        if (sent >= good) {
          this.destroy(new Error('source connection reset'));
          return;
        }
        const n = Math.min(1024 * 1024, good - sent);
        sent += n;
        this.push(randomBytes(n));
      },
    });
  }

  test(`${name}: a streamed object round-trips byte for byte, multi-part sized`, async () => {
    const store = await fresh();
    try {
      const data = randomBytes(20 * 1024 * 1024 + 123);
      let progress = 0;
      const put = await store.putStream(key(store, 'a/obj.bin'), Readable.from(chunk(data, 64 * 1024)), {
        onProgress: (n) => (progress = n),
      });
      assert.equal(put.bytes, data.length);
      assert.equal(progress, data.length);
      assert.equal(sha(await readAll(await store.get(key(store, 'a/obj.bin')))), sha(data));
      const head = await store.head(key(store, 'a/obj.bin'));
      assert.equal(head.bytes, data.length);
      const listed = await store.list();
      assert.deepEqual(
        listed.map((o) => o.key),
        [key(store, 'a/obj.bin')],
      );
    } finally {
      await store.close();
    }
  });

  test(`${name}: never overwrites an existing object`, async () => {
    const store = await fresh();
    try {
      await store.putBytes(key(store, 'x.json'), '{"a":1}');
      await assert.rejects(
        store.putBytes(key(store, 'x.json'), '{"a":2}'),
        (e: VaultOpsError) => e.code === 'store' && /already exists/.test(e.message),
      );
      assert.equal((await store.getBytes(key(store, 'x.json'))).toString(), '{"a":1}');
    } finally {
      await store.close();
    }
  });

  test(`${name}: a source that fails mid-stream leaves nothing behind`, async () => {
    const store = await fresh();
    try {
      await assert.rejects(store.putStream(key(store, 'broken.snap'), failingStream(12 * 1024 * 1024)), VaultOpsError);
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.listIncomplete(), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: an abort mid-stream leaves nothing behind`, async () => {
    const store = await fresh();
    try {
      const controller = new AbortController();
      let sent = 0;
      const slow = new Readable({
        read() {
          sent += 1;
          if (sent === 12) controller.abort();
          setTimeout(() => this.push(randomBytes(1024 * 1024)), 5);
        },
      });
      await assert.rejects(
        store.putStream(key(store, 'aborted.snap'), slow, { signal: controller.signal }),
        (e: VaultOpsError) => e.code === 'aborted' || e.code === 'store',
      );
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.listIncomplete(), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: not found, small-object limit, delete is idempotent`, async () => {
    const store = await fresh();
    try {
      await assert.rejects(store.get(key(store, 'missing')), (e: VaultOpsError) => e.code === 'not-found');
      await assert.rejects(store.head(key(store, 'missing')), (e: VaultOpsError) => e.code === 'not-found');
      await assert.rejects(store.getBytes(key(store, 'missing')), (e: VaultOpsError) => e.code === 'not-found');
      await store.putBytes(key(store, 'big.json'), 'x'.repeat(2000));
      await assert.rejects(
        store.getBytes(key(store, 'big.json'), { maxBytes: 1000 }),
        (e: VaultOpsError) => e.code === 'store',
      );
      await store.delete(key(store, 'big.json'));
      await store.delete(key(store, 'big.json'));
      assert.deepEqual(await store.list(), []);
    } finally {
      await store.close();
    }
  });

  test(`${name}: list under a sub-prefix`, async () => {
    const store = await fresh();
    try {
      await store.putBytes(key(store, 'records/r1.json'), '{}');
      await store.putBytes(key(store, 'top.json'), '{}');
      assert.deepEqual(
        (await store.list({ under: 'records/' })).map((o) => o.key),
        [key(store, 'records/r1.json')],
      );
      assert.equal((await store.list()).length, 2);
    } finally {
      await store.close();
    }
  });

  test(`${name}: list under the start of a name (one snapshot's objects)`, async () => {
    const store = await fresh();
    try {
      await store.putBytes(key(store, '20260101T000000Z-aaaaaa.manifest.json'), '{}');
      await store.putBytes(key(store, '20260101T000000Z-aaaaaa.snap'), 'x');
      await store.putBytes(key(store, '20260101T000000Z-bbbbbb.manifest.json'), '{}');
      await store.putBytes(key(store, 'records/20260101T000000Z-aaaaaa.json'), '{}');
      assert.deepEqual((await store.list({ under: '20260101T000000Z-aaaaaa.' })).map((o) => o.key).sort(), [
        key(store, '20260101T000000Z-aaaaaa.manifest.json'),
        key(store, '20260101T000000Z-aaaaaa.snap'),
      ]);
    } finally {
      await store.close();
    }
  });
}

function* chunk(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
