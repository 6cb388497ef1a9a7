import { VaultOpsError } from '../errors.js';
import type { SnapshotStore } from './snapshot-store.js';

/** Whether `key` exists, by its `head`: 'not-found' is no, any other failure is thrown. */
export async function objectExists(store: Pick<SnapshotStore, 'head'>, key: string): Promise<boolean> {
  try {
    await store.head(key);
    return true;
  } catch (err) {
    if (err instanceof VaultOpsError && err.code === 'not-found') return false;
    throw err;
  }
}

/**
 * A create-only write found the key taken (the store never overwrites): a typed error, so that a
 * caller that may pick another key (a drill record's time) does not have to read the message.
 */
export class KeyTakenError extends VaultOpsError {
  constructor(
    readonly key: string,
    url: string,
    options?: { cause?: unknown },
  ) {
    super('store', `${key} already exists in ${url}: refusing to overwrite it`, options);
  }
}
