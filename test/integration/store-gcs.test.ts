import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { VaultOpsError } from '../../src/errors.js';
import { gcsCapabilitiesOf, type GcsStore } from '../../src/store/gcs-store.js';
import { openSnapshotStore, parseStoreUrl } from '../../src/store/open-store.js';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startGcs, type GcsTestbed } from '../testbed/gcs.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
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

test("gs:// URLs: bucket and prefix; bucket names follow Google's rules", () => {
  assert.deepEqual(parseStoreUrl('gs://my_bucket.example/vault/prod/'), {
    kind: 'gcs',
    bucket: 'my_bucket.example',
    prefix: 'vault/prod',
  });
  assert.deepEqual(parseStoreUrl('gs://backups'), { kind: 'gcs', bucket: 'backups', prefix: '' });
  for (const bad of ['gs://Bad/x', 'gs://ab/x', 'gs://-dash/x', 'gs://goog-backups/x', 'gs://my-google-b/x']) {
    assert.throws(() => parseStoreUrl(bad), /invalid GCS bucket name/, bad);
  }
  assert.throws(() => parseStoreUrl('gs://192.168.1.10/x'), /invalid GCS bucket name/);
  assert.throws(() => parseStoreUrl(`gs://${'a'.repeat(64)}/x`), /invalid GCS bucket name/);
});

test('GCS store: a missing bucket is a clear store error', async () => {
  await assert.rejects(
    openSnapshotStore('gs://no-such-bucket/x', { gcsEndpoint: gcs.endpoint }, {}),
    (e: VaultOpsError) => e.code === 'store' && /GCS bucket no-such-bucket does not exist/.test(e.message),
  );
});

test('GCS store: the endpoint comes from the env given (STORAGE_EMULATOR_HOST), never from process.env', async () => {
  await gcs.createBucket('env-endpoint');
  const saved = process.env.STORAGE_EMULATOR_HOST;
  // Nothing listens on port 1: a store that read process.env would fail to reach it.
  process.env.STORAGE_EMULATOR_HOST = 'http://127.0.0.1:1';
  try {
    const viaEnv = await openSnapshotStore('gs://env-endpoint/p', {}, { STORAGE_EMULATOR_HOST: gcs.endpoint });
    await viaEnv.putBytes('p/a.json', '{}');
    await viaEnv.close();
    // The JSON API path some emulator docs include is accepted too.
    const withPath = await openSnapshotStore('gs://env-endpoint/p', { gcsEndpoint: `${gcs.endpoint}/storage/v1/` });
    assert.deepEqual(
      (await withPath.list()).map((o) => o.key),
      ['p/a.json'],
    );
    await withPath.close();
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  }
  assert.deepEqual(await gcs.listKeys('env-endpoint'), ['p/a.json']);
});

test('GCS store: versioning and holds are detected from bucket metadata; plain buckets have neither', async () => {
  // Bucket versioning exists only in fake-gcs-server's memory backend.
  const memory = await startGcs({ backend: 'memory' });
  after(() => memory.stop());
  await gcs.createBucket('gcs-plain');
  await memory.createBucket('gcs-versioned', { versioning: true });
  await gcs.createBucket('gcs-held', { defaultEventBasedHold: true });
  const open = (b: string, endpoint = gcs.endpoint) => openSnapshotStore(`gs://${b}/p`, { gcsEndpoint: endpoint }, {});
  const plain = await open('gcs-plain');
  const versioned = await open('gcs-versioned', memory.endpoint);
  const held = await open('gcs-held');
  assert.deepEqual(plain.capabilities, { versioning: false, objectLock: false });
  assert.deepEqual(versioned.capabilities, { versioning: true, objectLock: false });
  assert.deepEqual(held.capabilities, { versioning: false, objectLock: true });
  // fake-gcs-server has no bucket retention policy nor object-retention flag: their mapping is
  // checked on the metadata shapes GCS documents.
  assert.deepEqual(gcsCapabilitiesOf({ retentionPolicy: { retentionPeriod: '86400' } }), {
    versioning: false,
    objectLock: true,
  });
  assert.deepEqual(gcsCapabilitiesOf({ objectRetention: { mode: 'Enabled' } }).objectLock, true);
  assert.deepEqual(gcsCapabilitiesOf({ retentionPolicy: { retentionPeriod: '0' } }).objectLock, false);

  // Versions: a generation per write, listed with the noncurrent ones; deleting by version id
  // removes that generation for good.
  const put = await versioned.putBytes('p/v.json', '{"v":1}');
  assert.ok(put.versionId, 'a versioned bucket reports the generation');
  await versioned.delete('p/v.json');
  const versions = await versioned.listVersions();
  assert.deepEqual(
    versions.map((v) => [v.key, v.versionId, v.isLatest]),
    [['p/v.json', put.versionId, false]],
  );
  await versioned.delete('p/v.json', { versionId: put.versionId! });
  assert.deepEqual(await versioned.listVersions(), []);

  // Object retention asked for is written on the object and read back as retainUntil.
  const until = new Date(Date.now() + 24 * 3600 * 1000);
  await held.putBytes('p/r.json', '{}', { retention: { mode: 'GOVERNANCE', until } });
  const head = await held.head('p/r.json');
  assert.ok(
    head.retainUntil && Math.abs(head.retainUntil.getTime() - until.getTime()) < 2000,
    String(head.retainUntil),
  );
  for (const s of [plain, versioned, held]) await s.close();
});

test('GCS store: memory stays flat on a large stream (bounded by the chunk size)', async () => {
  const store = await freshStore('big');
  // fake-gcs-server re-hashes the whole object on every chunk (quadratic): 128 MiB keeps it quick.
  const total = 128 * 1024 * 1024;
  const block = Buffer.alloc(1024 * 1024, 7);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent >= total) return this.push(null);
      sent += block.length;
      this.push(Buffer.from(block));
    },
  });
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const put = await store.putStream('big/large.snap', source);
    assert.equal(put.bytes, total);
  } finally {
    clearInterval(sampler);
  }
  const grewMiB = (peak - baseline) / 1024 / 1024;
  console.log(`GCS upload of 128 MiB: RSS grew by ${grewMiB.toFixed(1)} MiB (chunk size 8 MiB)`);
  assert.ok(grewMiB < 100, `RSS grew by ${grewMiB.toFixed(1)} MiB for a 128 MiB stream`);
  assert.equal((await store.head('big/large.snap')).bytes, total);
  await store.close();
});

test('GCS credentials file: an unreadable path is a config error; a bad key never reaches the message', async () => {
  await gcs.createBucket('creds');
  const dir = await mkdtemp(join(tmpdir(), 'vault-ops-gcs-creds-'));
  try {
    const missing = await runCli(['snapshot', 'list', '--from', 'gs://creds/x'], {
      VAULT_OPS_GCS_ENDPOINT: gcs.endpoint,
      GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'nope.json'),
    });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /cannot read the GCS credentials file .*nope\.json/);
    // A key file whose private key cannot be decoded, against an https endpoint (which is sent
    // credentials): signing fails locally, before any request, and the message points at the file
    // without quoting it.
    const keyMaterial = 'TOPSECRETKEYMATERIAL0123456789abcdef';
    const keyFile = join(dir, 'sa.json');
    await writeFile(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        project_id: 'p',
        private_key_id: 'k1',
        private_key: `-----BEGIN PRIVATE KEY-----\n${keyMaterial}\n-----END PRIVATE KEY-----\n`,
        client_email: 'backup@p.iam.gserviceaccount.com',
      }),
      { mode: 0o600 },
    );
    const r = await runCli(
      ['snapshot', 'list', '--from', 'gs://creds/x', '--gcs-credentials-file', keyFile, '--log-level', 'debug'],
      { VAULT_OPS_GCS_ENDPOINT: 'https://127.0.0.1:1' },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: GCS credentials could not be used .*--gcs-credentials-file/);
    assert.ok(!r.all.includes(keyMaterial), 'the private key reached the output');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'GCS endpoint over plain http: refused off loopback (exit 2, before any request) unless --allow-insecure-http; ' +
    'a name resolving to loopback is fine',
  async () => {
    await gcs.createBucket('http-rule');
    const refused = await runCli(['snapshot', 'list', '--from', 'gs://http-rule/x'], {
      VAULT_OPS_GCS_ENDPOINT: 'http://gcs.example.invalid:4443',
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^error: refusing plaintext http to the GCS endpoint gcs\.example\.invalid:4443: it is not a loopback address .*use https:\/\/ or pass --allow-insecure-http\n$/,
    );
    const allowed = await runCli(['snapshot', 'list', '--from', 'gs://http-rule/x', '--allow-insecure-http'], {
      STORAGE_EMULATOR_HOST: 'http://gcs.example.invalid:4443',
    });
    assert.notEqual(allowed.code, 2, 'with --allow-insecure-http the rule no longer refuses (the name then fails)');
    assert.doesNotMatch(allowed.stderr, /refusing plaintext http/);
    const viaName = await runCli(['snapshot', 'list', '--from', 'gs://http-rule/x', '--output', 'json'], {
      VAULT_OPS_GCS_ENDPOINT: `http://localhost:${new URL(gcs.endpoint).port}`,
    });
    assert.equal(viaName.code, 0, viaName.stderr);
    assert.deepEqual(viaName.json().snapshots, []);
  },
);

describe(onServer('gs:// store end to end: save, list, inspect, verify, prune, restore'), () => {
  let vault: VaultTestbed;
  let dir: string;
  let env: Record<string, string>;
  const store = 'gs://backups/vault/prod';
  const ids: string[] = [];

  before(async () => {
    vault = await startVault();
    console.log(`testbed: ${vault.version}`);
    dir = await mkdtemp(join(tmpdir(), 'vault-ops-gcs-e2e-'));
    const drillTmp = join(dir, 'tmp');
    await mkdir(drillTmp);
    await writeFile(join(dir, 'unseal-keys'), `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
    await gcs.createBucket('backups');
    env = {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
      VAULT_OPS_VAULT_BINARY: vault.binary,
      VAULT_OPS_GCS_ENDPOINT: gcs.endpoint,
      TMPDIR: drillTmp,
    };
    await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', {
      token: vault.rootToken,
      body: { type: 'kv', options: { version: '1' } },
    });
    await seedSecrets(vault.addr, vault.rootToken, { count: 5, prefix: 'before' });
  });
  after(async () => {
    await vault?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('snapshot save streams archive then manifest into the bucket; list and inspect read them back', async () => {
    for (let i = 0; i < 2; i++) {
      const saved = await runCli(['snapshot', 'save', '--to', store, '--canary', '--output', 'json'], env);
      assert.equal(saved.code, 0, saved.stderr);
      ids.push(saved.json().id);
      assert.equal(saved.json().archive.key, `vault/prod/${saved.json().id}.snap`);
    }
    assert.deepEqual(
      (await gcs.listKeys('backups', 'vault/prod/')).sort(),
      ids.flatMap((id) => [`vault/prod/${id}.manifest.json`, `vault/prod/${id}.snap`]).sort(),
    );
    const listed = await runCli(['snapshot', 'list', '--from', store, '--output', 'json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      listed.json().snapshots.map((s: { id: string }) => s.id),
      [...ids].reverse(),
    );
    assert.deepEqual(listed.json().incomplete, []);
    const inspected = await runCli(['snapshot', 'inspect', `${store}#${ids[0]}`, '--output', 'json'], env);
    assert.equal(inspected.code, 0, inspected.stderr);
    assert.equal(inspected.json().id, ids[0]);
    // The stored bytes are what the manifest says (sha256 over the object as GCS serves it).
    const repo = await openSnapshotStore(store, { gcsEndpoint: gcs.endpoint });
    const manifest = JSON.parse((await repo.getBytes(`vault/prod/${ids[0]}.manifest.json`)).toString());
    const hash = createHash('sha256');
    for await (const c of await repo.get(manifest.archive.key)) hash.update(c as Buffer);
    assert.equal(hash.digest('hex'), manifest.archive.sha256);
    await repo.close();
  });

  test('verify drills the newest snapshot from the bucket', async () => {
    const r = await runCli(
      ['verify', '--from', store, '--unseal-keys-file', join(dir, 'unseal-keys'), '--output', 'json'],
      env,
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.json().snapshotId, ids[1]);
    assert.equal(r.json().passed, true);
    assert.ok(
      r.json().checks.every((c: { passed: boolean }) => c.passed),
      JSON.stringify(r.json().checks),
    );
  });

  test('prune keeps the newest and removes the older one from the bucket', async () => {
    const r = await runCli(['snapshot', 'prune', '--from', store, '--keep-last', '1', '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.json().remove.map((x: { id: string; status: string }) => [x.id, x.status]),
      [[ids[0], 'removed']],
    );
    const left = (await gcs.listKeys('backups', 'vault/prod/')).sort();
    // The kept snapshot keeps the drill record the verify test wrote beside it.
    assert.deepEqual(
      left.filter((k) => !k.includes('.drill-')),
      [`vault/prod/${ids[1]}.manifest.json`, `vault/prod/${ids[1]}.snap`],
    );
    const drills = left.filter((k) => k.includes('.drill-'));
    assert.equal(drills.length, 1, left.join(' '));
    assert.ok(drills[0]!.startsWith(`vault/prod/${ids[1]}.drill-`), left.join(' '));
  });

  test('restore brings the cluster back to the snapshot, its safety snapshot stored in the bucket', async () => {
    await seedSecrets(vault.addr, vault.rootToken, { count: 2, prefix: 'after' });
    const r = await runCli(['restore', '--from', store, '--snapshot', ids[1]!, '--yes', '--output', 'json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().applied, true);
    assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'before/s1'), 'value-before/s1');
    assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'after/s1'), undefined);
    const safety = r.json().safetySnapshotId as string;
    assert.ok((await gcs.listKeys('backups', 'vault/prod/')).includes(`vault/prod/${safety}.manifest.json`));
  });
});
