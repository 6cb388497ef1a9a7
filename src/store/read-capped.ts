import type { Readable } from 'node:stream';
import { VaultOpsError } from '../errors.js';

/** Small objects (manifests, records) are at most this unless the caller says otherwise. */
export const DEFAULT_MAX_SMALL_OBJECT_BYTES = 16 * 1024 * 1024;

/**
 * Read a small object's stream whole, refusing (and closing the stream) as soon as it passes
 * `max` bytes: what is bigger than a manifest or record is not something vault-ops wrote, and
 * must not be held in memory. Every object-store backend reads `getBytes` through this.
 */
export async function readCapped(stream: Readable, max: number, key: string, storeUrl: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new VaultOpsError(
        'store',
        `${key} in ${storeUrl} is larger than the ${max} bytes expected: it is not what vault-ops wrote`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `getBytes` of an object-store backend: its `get` stream, read whole under the cap. */
export async function getBytesCapped(
  store: {
    readonly url: string;
    get(key: string, options: { signal?: AbortSignal }): Promise<Readable>;
  },
  key: string,
  options: { maxBytes?: number; signal?: AbortSignal },
): Promise<Buffer> {
  const stream = await store.get(key, options.signal ? { signal: options.signal } : {});
  return await readCapped(stream, options.maxBytes ?? DEFAULT_MAX_SMALL_OBJECT_BYTES, key, store.url);
}
