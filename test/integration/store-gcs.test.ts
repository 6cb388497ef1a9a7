import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { VaultOpsError } from '../../src/errors.js';
import type { GcsStore } from '../../src/store/gcs-store.js';
import { openSnapshotStore, parseStoreUrl } from '../../src/store/open-store.js';
import { startGcs, type GcsTestbed } from '../testbed/gcs.js';
import { storeContract } from './store-contract.js';

let gcs: GcsTestbed;
let counter = 0;

before(async () => {
  gcs = await startGcs();
  console.log(`testbed: fake-gcs-server ${gcs.version} at ${gcs.endpoint}`);
});
after(async () => gcs?.stop());

async function freshStore(prefix = 'vault/prod'): Promise<GcsStore> {
  const bucket = `contract-${++counter}`;
  await gcs.createBucket(bucket);
  return (await openSnapshotStore(`gs://${bucket}/${prefix}`, { gcsEndpoint: gcs.endpoint }, {})) as GcsStore;
}

storeContract('GCS store (fake-gcs-server)', () => freshStore());
storeContract('GCS store without a prefix', () => freshStore(''));
