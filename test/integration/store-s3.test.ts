import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { VaultOpsError } from '../../src/errors.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import type { S3Store } from '../../src/store/s3-store.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { storeContract } from './store-contract.js';

let s3: S3Testbed;
let counter = 0;

before(async () => {
  s3 = await startS3();
  console.log(`testbed: versitygw ${s3.version} at ${s3.endpoint}`);
});
after(async () => s3?.stop());

const env = () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey });
async function freshStore(prefix = 'vault/prod'): Promise<S3Store> {
  const bucket = `contract-${++counter}`;
  await s3.createBucket(bucket);
  return (await openSnapshotStore(
    `s3://${bucket}/${prefix}`,
    { s3Endpoint: s3.endpoint, s3Region: s3.region, s3ForcePathStyle: true },
    env(),
  )) as S3Store;
}

storeContract('S3 store (versitygw)', () => freshStore());
storeContract('S3 store without a prefix', () => freshStore(''));

test('S3 store: a missing bucket is a clear store error', async () => {
  await assert.rejects(
    openSnapshotStore('s3://no-such-bucket/x', { s3Endpoint: s3.endpoint, s3ForcePathStyle: true }, env()),
    (e: VaultOpsError) => e.code === 'store' && /bucket no-such-bucket does not exist/.test(e.message),
  );
});

test('S3 store: wrong credentials are a clear store error that does not echo the secret', async () => {
  await s3.createBucket('creds-test');
  const wrongSecret = 'WrongSecretKeyValue1234567890';
  await assert.rejects(
    openSnapshotStore(
      's3://creds-test/x',
      { s3Endpoint: s3.endpoint, s3ForcePathStyle: true },
      { AWS_ACCESS_KEY_ID: 'AKIAWRONG', AWS_SECRET_ACCESS_KEY: wrongSecret },
    ),
    (e: VaultOpsError) => {
      assert.equal(e.code, 'store');
      assert.match(e.message, /S3 (rejected the credentials|denied access)/);
      assert.ok(!e.message.includes(wrongSecret));
      return true;
    },
  );
});

test('S3 store: versioned and object-locked buckets are detected; retention is applied', async () => {
  await s3.createBucket('locked', { objectLock: true });
  await s3.createBucket('versioned', { versioning: true });
  const opts = { s3Endpoint: s3.endpoint, s3ForcePathStyle: true };
  const locked = await openSnapshotStore('s3://locked/p', opts, env());
  const versioned = await openSnapshotStore('s3://versioned/p', opts, env());
  assert.deepEqual(locked.capabilities, { versioning: true, objectLock: true });
  assert.deepEqual(versioned.capabilities, { versioning: true, objectLock: false });
  const until = new Date(Date.now() + 24 * 3600 * 1000);
  const put = await locked.putStream('p/a.snap', Readable.from([randomBytes(6 * 1024 * 1024)]), {
    retention: { mode: 'GOVERNANCE', until },
  });
  assert.ok(put.versionId);
  const head = await locked.head('p/a.snap');
  assert.ok(head.retainUntil && Math.abs(head.retainUntil.getTime() - until.getTime()) < 2000);
  await assert.rejects(
    locked.delete('p/a.snap', { versionId: put.versionId! }),
    (e: VaultOpsError) => e.code === 'store',
  );
  await locked.close();
  await versioned.close();
});

test(
  'S3 endpoint over plain http: refused off loopback (exit 2, before any request) unless --allow-insecure-http; a ' +
    'name resolving to loopback is fine',
  async () => {
    await s3.createBucket('http-rule');
    const { runCli } = await import('../helpers/run-cli.js');
    const base = { ...env(), AWS_REGION: s3.region, VAULT_OPS_S3_FORCE_PATH_STYLE: 'true' };
    // `.invalid` never resolves: not loopback, and nothing is ever sent anywhere.
    const refused = await runCli(['snapshot', 'list', '--from', 's3://http-rule/x'], {
      ...base,
      VAULT_OPS_S3_ENDPOINT: 'http://s3.example.invalid:9000',
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^error: refusing plaintext http to the S3 endpoint s3\.example\.invalid:9000: it is not a loopback address .*use https:\/\/ or pass --allow-insecure-http\n$/,
    );
    const allowed = await runCli(['snapshot', 'list', '--from', 's3://http-rule/x', '--allow-insecure-http'], {
      ...base,
      VAULT_OPS_S3_ENDPOINT: 'http://s3.example.invalid:9000',
    });
    assert.notEqual(
      allowed.code,
      2,
      'with --allow-insecure-http the rule no longer refuses (the name then fails to resolve)',
    );
    assert.doesNotMatch(allowed.stderr, /refusing plaintext http/);
    const port = new URL(s3.endpoint).port;
    const viaName = await runCli(['snapshot', 'list', '--from', 's3://http-rule/x', '--output', 'json'], {
      ...base,
      VAULT_OPS_S3_ENDPOINT: `http://localhost:${port}`,
    });
    assert.equal(viaName.code, 0, viaName.stderr);
    assert.deepEqual(viaName.json().snapshots, []);
  },
);

test('S3 store: an object put under the key while an upload runs is never replaced (If-None-Match, #22)', async () => {
  const store = await freshStore();
  const { PutObjectCommand, GetObjectCommand } = await import('@aws-sdk/client-s3');
  const bucket = `contract-${counter}`;
  const key = 'vault/prod/20261207T000000Z-abcdef.snap';
  // The upload's existence check passes (nothing there yet); the body waits until another writer
  // has put the key; then the upload ends. The other object stays, the upload is refused.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const body = Readable.from(
    (async function* () {
      await gate;
      yield Buffer.from('ours');
    })(),
  );
  const upload = store.putStream(key, body);
  await new Promise((r) => setTimeout(r, 300));
  await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'theirs' }));
  release();
  await assert.rejects(upload, (e: VaultOpsError) => e.code === 'store' && /already exists/.test(e.message));
  const got = await s3.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert.equal(await got.Body!.transformToString(), 'theirs');
  await store.close();
});
