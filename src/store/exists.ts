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
