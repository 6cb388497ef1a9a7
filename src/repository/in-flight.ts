/**
 * Reads of many small objects (manifests, drill records) with a bounded number in flight: a store
 * answers each request in a few milliseconds on loopback and 20–40 ms in a real bucket, so one at a
 * time makes a catalogue of thousands take minutes, and all at once exhausts sockets and memory.
 */

/** In flight when the store names no limit of its own (`SnapshotStore.readConcurrency`). */
export const DEFAULT_READ_CONCURRENCY = 16;

/**
 * `read` over `items` with at most `limit` calls in flight; the results in the order of `items`,
 * whatever order the calls finish in. The first failure starts no further call, waits for those in
 * flight (nothing is left running behind the caller) and is thrown.
 */
export async function mapInFlight<T, R>(
  items: readonly T[],
  limit: number,
  read: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await read(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * The first of `items`, in their order, for which `test` holds, testing `limit` at a time in windows
 * (so that a match near the front costs one window, not the whole list); undefined when none does.
 */
export async function firstInOrder<T>(
  items: readonly T[],
  limit: number,
  test: (item: T) => Promise<boolean>,
): Promise<T | undefined> {
  const window = Math.max(1, Math.floor(limit) || 1);
  for (let start = 0; start < items.length; start += window) {
    const slice = items.slice(start, start + window);
    const passed = await mapInFlight(slice, window, test);
    const i = passed.indexOf(true);
    if (i >= 0) return slice[i];
  }
  return undefined;
}
