/**
 * Grouping of storage keys by path prefix, for a summary of what a snapshot holds.
 *
 * The prefix of a key at depth `d` is the key up to and including its d-th '/', e.g. at depth 1
 * "core/", "logical/", "sys/"; at depth 2 "logical/0f3c…/" or "sys/token/". A key with fewer than
 * d slashes is its own prefix ("core/keyring" at depth 2, "setup" at depth 1).
 */
export function keyPrefix(key: string, depth: number): string {
  if (!Number.isInteger(depth) || depth < 1)
    throw new RangeError(`key prefix depth must be a positive integer, got ${depth}`);
  let at = -1;
  for (let i = 0; i < depth; i++) {
    at = key.indexOf('/', at + 1);
    if (at === -1) return key;
  }
  return key.slice(0, at + 1);
}

/** Counts of keys by prefix at a fixed depth. */
export class KeyCounter {
  // A Map (not an object) so that keys such as "__proto__" or "constructor" are plain data.
  private readonly counts = new Map<string, number>();

  constructor(readonly depth = 1) {
    keyPrefix('', depth); // validates depth
  }

  add(key: string): void {
    const prefix = keyPrefix(key, this.depth);
    this.counts.set(prefix, (this.counts.get(prefix) ?? 0) + 1);
  }

  /**
   * The counts as a plain record, prefixes in sorted order. Built with Object.fromEntries, which
   * defines own properties, so a prefix named "__proto__" is a count and not a prototype.
   */
  toRecord(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
