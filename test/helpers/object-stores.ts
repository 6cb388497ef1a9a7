import { openSnapshotStore } from '../../src/store/open-store.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { startAzurite } from '../testbed/azurite.js';
import { startGcs } from '../testbed/gcs.js';
import { startS3 } from '../testbed/s3.js';

/** One object store under test: its URL, the CLI's environment for it, and a way to open it in-process. */
export interface StoreTarget {
  name: 's3' | 'azure' | 'gcs';
  url: string;
  env: Record<string, string>;
  open(): Promise<SnapshotStore>;
}

/**
 * versitygw, Azurite and fake-gcs-server started side by side, each with a bucket (container) named
 * `bucket`, as targets at `<scheme>://<bucket>/vault/prod` (catalogue-scale and catalogue-index tests).
 */
export async function startObjectStores(bucket: string): Promise<{ targets: StoreTarget[]; stop(): Promise<void> }> {
  const started = await Promise.allSettled([startS3(), startAzurite(), startGcs()]);
  const stop = async () => {
    await Promise.allSettled(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [s3, az, gcs] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startS3>>,
    Awaited<ReturnType<typeof startAzurite>>,
    Awaited<ReturnType<typeof startGcs>>,
  ];
  await Promise.all([s3.createBucket(bucket), az.createContainer(bucket), gcs.createBucket(bucket)]);
  const s3Env = s3.cliEnv();
  const azEnv = { AZURE_STORAGE_ACCOUNT: az.account, AZURE_STORAGE_KEY: az.accountKey };
  const url = (scheme: string) => `${scheme}://${bucket}/vault/prod`;
  const targets: StoreTarget[] = [
    {
      name: 's3',
      url: url('s3'),
      env: s3Env,
      open: () => openSnapshotStore(url('s3'), { s3Endpoint: s3.endpoint, s3ForcePathStyle: true }, s3Env),
    },
    {
      name: 'azure',
      url: url('az'),
      env: { ...azEnv, VAULT_OPS_AZURE_ENDPOINT: az.endpoint },
      open: () => openSnapshotStore(url('az'), { azureEndpoint: az.endpoint }, azEnv),
    },
    {
      name: 'gcs',
      url: url('gs'),
      env: { VAULT_OPS_GCS_ENDPOINT: gcs.endpoint },
      open: () => openSnapshotStore(url('gs'), { gcsEndpoint: gcs.endpoint }, {}),
    },
  ];
  return { targets, stop };
}
