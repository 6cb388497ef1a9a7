import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectRetentionCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { archiveKey, drillKey, manifestKey } from '../../src/repository/layout.js';
import type { SnapshotManifest } from '../../src/repository/manifest.js';
import { signDrillRecord, signManifest } from '../../src/repository/signature.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { fakeManifest, idAt, fakeDrillRecord } from '../helpers/manifest.js';
import { runCli } from '../helpers/run-cli.js';
import { startAzurite, type AzuriteTestbed } from '../testbed/azurite.js';
import { startGcs, type GcsTestbed } from '../testbed/gcs.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';

/**
 * Issue "A snapshot store that someone else can write to": each attack of the security review, as
 * someone who can only upload to the store would make it, against every kind of real store (folder,
 * versitygw plain / versioned / object-locked, Azurite, fake-gcs-server). The catalogue entries are
 * written directly (signed with a key of the test's, as `snapshot save --signing-key` signs them): what
 * is under test is what the catalogue readers make of a store, not how a snapshot is taken (the
 * attacks that need a real server are in store-trust-server.test.ts).
 */
let s3: S3Testbed;
let az: AzuriteTestbed;
let gcs: GcsTestbed;
let dir: string;
let key: { privateKey: KeyObject; publicKey: KeyObject };
let verifyKeyFile: string;

interface Target {
  name: string;
  /** The store URL of a fresh prefix. */
  url(prefix: string): string;
  env: Record<string, string>;
  open(url: string): Promise<SnapshotStore>;
  versioned?: boolean;
}
const targets: Target[] = [];

before(async () => {
  [s3, az, gcs] = await Promise.all([startS3(), startAzurite(), startGcs()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-trust-'));
  key = generateKeyPairSync('ed25519');
  verifyKeyFile = join(dir, 'verify.pem');
  await writeFile(verifyKeyFile, key.publicKey.export({ type: 'spki', format: 'pem' }));
  await Promise.all([
    s3.createBucket('plain'),
    s3.createBucket('versioned', { versioning: true }),
    s3.createBucket('locked', { objectLock: true }),
    az.createContainer('trust'),
    gcs.createBucket('trust'),
  ]);
  const s3Env = s3.cliEnv();
  const azEnv = {
    AZURE_STORAGE_ACCOUNT: az.account,
    AZURE_STORAGE_KEY: az.accountKey,
    VAULT_OPS_AZURE_ENDPOINT: az.endpoint,
  };
  const gcsEnv = { VAULT_OPS_GCS_ENDPOINT: gcs.endpoint };
  targets.push(
    {
      name: 'folder',
      url: (p) => `file://${join(dir, 'folder', p)}`,
      env: {},
      open: (url) => openSnapshotStore(url, { createFolder: true }, {}),
    },
    ...(['plain', 'versioned', 'locked'] as const).map((bucket) => ({
      name: `s3 ${bucket}`,
      url: (p: string) => `s3://${bucket}/${p}`,
      env: s3Env,
      open: (url: string) => openSnapshotStore(url, { s3Endpoint: s3.endpoint, s3ForcePathStyle: true }, s3Env),
      versioned: bucket !== 'plain',
    })),
    {
      name: 'azure',
      url: (p) => `az://trust/${p}`,
      env: azEnv,
      open: (url) => openSnapshotStore(url, { azureEndpoint: az.endpoint }, azEnv),
    },
    {
      name: 'gcs',
      url: (p) => `gs://trust/${p}`,
      env: gcsEnv,
      open: (url) => openSnapshotStore(url, { gcsEndpoint: gcs.endpoint }, gcsEnv),
    },
  );
});
after(async () => {
  await Promise.allSettled([s3?.stop(), az?.stop(), gcs?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const DAY = 86_400_000;
const sha = (body: string) => createHash('sha256').update(body).digest('hex');

/** One snapshot's archive and manifest as vault-ops writes them (signed unless `unsigned`). */
async function putSnapshot(
  store: SnapshotStore,
  time: Date,
  n: number,
  options: { unsigned?: boolean; index?: number; cluster?: string; body?: string } = {},
): Promise<SnapshotManifest> {
  const id = idAt(time, n);
  const key_ = archiveKey(store.prefix, id, { encrypted: false });
  const body = options.body ?? `archive ${id}`;
  await store.putBytes(key_, body);
  let manifest = fakeManifest({
    id,
    createdAt: time.toISOString(),
    archive: { key: key_, bytes: body.length, sha256: sha(body) },
    raft: { index: options.index ?? 1000 + n, term: 1, configurationIndex: 1, servers: [] },
    cluster: { id: options.cluster ?? 'cluster-1', name: 'prod' },
  });
  if (!options.unsigned) manifest = signManifest(manifest, key.privateKey);
  await store.putBytes(manifestKey(store.prefix, id), JSON.stringify(manifest));
  return manifest;
}

/** `count` real snapshots, one a day, the newest yesterday; returned newest first. */
async function realSnapshots(store: SnapshotStore, count: number): Promise<SnapshotManifest[]> {
  const out: SnapshotManifest[] = [];
  const start = Date.now() - count * DAY;
  for (let i = 0; i < count; i++) out.push(await putSnapshot(store, new Date(start + i * DAY), i + 1));
  return out.reverse();
}

async function cli(target: Target, args: string[], signed: boolean) {
  return runCli([...args, ...(signed ? ['--verify-key', verifyKeyFile] : []), '--output', 'json'], target.env);
}

async function keysOf(store: SnapshotStore): Promise<string[]> {
  return (await store.list()).map((o) => o.key).sort();
}

describe('an uploader cannot destroy real snapshots through prune', () => {
  for (const signed of [false, true]) {
    const kind = signed ? 'signed' : 'unsigned';
    test(`future-dated forgeries, a createdAt of "zzz", a second archive key (${kind} store)`, async () => {
      assert.equal(targets.length, 6, 'folder, three versitygw buckets, Azurite, fake-gcs-server');
      for (const target of targets) {
        const url = target.url(`forged-${signed ? 's' : 'u'}`);
        const store = await target.open(url);
        const real = await realSnapshots(store, 10);
        // 48 forged manifests dated a year ahead with 1-byte archives (the chart's default keeps 48).
        const future = Date.now() + 365 * DAY;
        const forged: string[] = [];
        for (let i = 0; i < 48; i++)
          forged.push(
            (await putSnapshot(store, new Date(future + i * 3_600_000), 0xf00 + i, { unsigned: true, body: 'x' })).id,
          );
        // One whose createdAt is "zzz" (it sorted first and broke every prune), dated now by its id.
        const zzzId = idAt(new Date(), 0xbad);
        await store.putBytes(archiveKey(store.prefix, zzzId, { encrypted: false }), 'x');
        await store.putBytes(
          manifestKey(store.prefix, zzzId),
          JSON.stringify(
            fakeManifest({
              id: zzzId,
              createdAt: 'zzz',
              archive: { key: archiveKey(store.prefix, zzzId, { encrypted: false }), bytes: 1, sha256: sha('x') },
            }),
          ),
        );
        // `<id>.snap.age` beside the real `<id>.snap` of the newest real snapshot.
        const shadowed = real[0]!;
        await store.putBytes(archiveKey(store.prefix, shadowed.id, { encrypted: true }), 'age-encryption.org/v1 junk');
        const before = await keysOf(store);

        const listed = await cli(target, ['snapshot', 'list', '--from', url], signed);
        assert.equal(listed.code, 0, `${target.name}: ${listed.stderr}`);
        const l = listed.json();
        assert.deepEqual(
          l.snapshots.map((s: any) => s.id),
          real.slice(1).map((m) => m.id),
          `${target.name}: the catalogue is the real snapshots but the shadowed one`,
        );
        const apart = [...l.untrusted, ...l.anomalies].map((a: any) => a.id).sort();
        assert.deepEqual(apart, [...forged, zzzId, shadowed.id].sort(), `${target.name}: every forgery set apart`);
        assert.match(l.anomalies.find((a: any) => a.id === shadowed.id).reason, /2 archives for one snapshot id/);
        if (signed) {
          assert.deepEqual(l.untrusted.map((u: any) => u.id).sort(), [...forged, zzzId].sort());
          assert.match(l.untrusted[0].reason, /not signed/);
        } else {
          assert.match(l.anomalies.find((a: any) => a.id === forged[0]).reason, /dated in the future/);
          assert.match(l.anomalies.find((a: any) => a.id === zzzId).reason, /createdAt is not a time/);
        }

        // The chart's default retention: keep 48. Nothing is removed: the 9 real ones are within it.
        const pruned = await cli(target, ['snapshot', 'prune', '--from', url, '--keep-last', '48'], signed);
        assert.equal(pruned.code, 0, `${target.name}: ${pruned.stderr}`);
        assert.equal(pruned.json().remove.length, 0, target.name);
        assert.equal(pruned.json().setApart.length, 50, target.name);
        // keep-last 3: the 6 oldest real snapshots go, as the policy says; no forgery is touched, the
        // shadowed snapshot stays with both its archives.
        const three = await cli(target, ['snapshot', 'prune', '--from', url, '--keep-last', '3'], signed);
        assert.equal(three.code, 0, `${target.name}: ${three.stderr}`);
        assert.deepEqual(
          three.json().remove.map((r: any) => [r.id, r.status]),
          real.slice(4).map((m) => [m.id, 'removed']),
          target.name,
        );
        const left = await keysOf(store);
        for (const k of before) {
          const removed = real.slice(4).some((m) => k.includes(m.id));
          assert.equal(left.includes(k), !removed, `${target.name}: ${k}`);
        }
        await store.close();
      }
    });
  }

  test('an overwritten manifest in a versioned bucket: prune deletes no version of that snapshot', async () => {
    for (const target of targets.filter((t) => t.versioned)) {
      const url = target.url('overwritten');
      const bucket = url.split('/')[2]!;
      const store = await target.open(url);
      const real = await realSnapshots(store, 4);
      const victim = real[3]!;
      // The same key, new content, written as any uploader with PutObject would (vault-ops never overwrites).
      await s3.client().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: manifestKey(store.prefix, victim.id),
          Body: JSON.stringify({ ...victim, policies: ['forged'] }),
        }),
      );
      const versionsOf = async () =>
        (
          (await s3.client().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `${store.prefix}/` })))
            .Versions ?? []
        ).filter((v) => v.Key?.includes(victim.id)).length;
      const before = await versionsOf();
      assert.equal(before, 3, `${target.name}: two manifest versions and the archive`);
      const r = await cli(target, ['snapshot', 'prune', '--from', url, '--keep-last', '2'], false);
      assert.equal(r.code, 0, `${target.name}: ${r.stderr}`);
      const entry = r.json().remove.find((x: any) => x.id === victim.id);
      assert.equal(entry.status, 'overwritten', JSON.stringify(entry));
      assert.match(entry.detail, /has 2 versions: it was overwritten/);
      assert.equal(
        await versionsOf(),
        before,
        `${target.name}: every version of the overwritten snapshot is still there`,
      );
      assert.equal(r.json().remove.find((x: any) => x.id === real[2]!.id)?.status, 'removed', target.name);
      await store.close();
    }
  });

  test('one run never prunes a store down to one snapshot without --force (unless the policy keeps one)', async () => {
    const target = targets[0]!;
    const url = target.url('cap');
    const store = await target.open(url);
    const real = await realSnapshots(store, 5);
    const capped = await cli(
      target,
      [
        'snapshot',
        'prune',
        '--from',
        url,
        '--keep-daily',
        '7',
        '--keep-hourly',
        '0',
        '--keep-last',
        '0',
        '--keep-weekly',
        '0',
        '--dry-run',
      ],
      false,
    );
    assert.equal(capped.code, 0, capped.stderr);
    // Five snapshots on five days: keep-daily 7 keeps all. Same day instead:
    const sameDay = target.url('cap-same-day');
    const s2 = await target.open(sameDay);
    const t0 = Date.now() - 6 * 3_600_000;
    for (let i = 0; i < 4; i++) await putSnapshot(s2, new Date(t0 + i * 3_600_000), 0x100 + i);
    const r = await cli(target, ['snapshot', 'prune', '--from', sameDay, '--keep-weekly', '4'], false);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().keep.length, 2, 'the newest and one spared by the cap');
    assert.deepEqual(r.json().keep[1].reasons, ['cap']);
    assert.equal(r.json().remove.length, 2);
    assert.ok(r.json().warnings.some((w: string) => /--force/.test(w)));
    const forced = await cli(target, ['snapshot', 'prune', '--from', sameDay, '--keep-yearly', '4', '--force'], false);
    assert.equal(forced.json().keep.length, 1);
    const one = await cli(target, ['snapshot', 'prune', '--from', url, '--keep-last', '1'], false);
    assert.equal(one.json().keep.length, 1, 'keep-last 1 asks for one');
    assert.equal(one.json().remove.length, real.length - 1);
    await Promise.all([store.close(), s2.close()]);
  });
});

describe('"verified" and "latest" cannot be forged', () => {
  test('forged drill records and unsigned manifests count for nothing when signed; a replay is flagged', async () => {
    for (const target of targets) {
      const url = target.url('forged-verdicts');
      const store = await target.open(url);
      const real = await realSnapshots(store, 3);
      const other = generateKeyPairSync('ed25519');
      // An unsigned passing record, one signed by another key, one of ours for another archive.
      const repoKey = (id: string, s: number) => drillKey(store.prefix, id, new Date(Date.now() - s * 1000));
      await store.putBytes(repoKey(real[0]!.id, 30), JSON.stringify(fakeDrillRecord(real[0]!, true)));
      await store.putBytes(
        repoKey(real[1]!.id, 20),
        JSON.stringify(signDrillRecord(fakeDrillRecord(real[1]!, true), other.privateKey)),
      );
      await store.putBytes(
        repoKey(real[2]!.id, 10),
        JSON.stringify(
          signDrillRecord({ ...fakeDrillRecord(real[2]!, true), archiveSha256: 'f'.repeat(64) }, key.privateKey),
        ),
      );
      // A present-dated unsigned manifest: newest by time, untrusted by signature.
      const fresh = await putSnapshot(store, new Date(Date.now() - 60_000), 0xeee, { unsigned: true });
      // A replay: the oldest real archive and manifest put back under a newer id (unsigned: it cannot be re-signed).
      const replayTime = new Date(Math.floor((Date.now() - 30_000) / 1000) * 1000);
      const replayId = idAt(replayTime, 0xabc);
      const replayKey = archiveKey(store.prefix, replayId, { encrypted: false });
      await store.putBytes(replayKey, `archive ${real[2]!.id}`);
      const { signature: _s, ...unsignedOld } = real[2]!;
      await store.putBytes(
        manifestKey(store.prefix, replayId),
        JSON.stringify({
          ...unsignedOld,
          id: replayId,
          createdAt: replayTime.toISOString(),
          archive: { ...unsignedOld.archive, key: replayKey },
        }),
      );

      const signedList = (await cli(target, ['snapshot', 'list', '--from', url, '--unverified'], true)).json();
      assert.deepEqual(
        signedList.snapshots.map((s: any) => s.id),
        real.map((m) => m.id),
        `${target.name}: every real snapshot is unverified; the unsigned ones are not snapshots`,
      );
      assert.deepEqual(signedList.untrusted.map((u: any) => u.id).sort(), [fresh.id, replayId].sort(), target.name);

      // Unsigned store: the forged drill counts (documented), but the replay is flagged and never latest.
      const unsignedList = (await cli(target, ['snapshot', 'list', '--from', url], false)).json();
      assert.equal(unsignedList.snapshots[0].id, fresh.id, target.name);
      assert.ok(!unsignedList.snapshots.some((s: any) => s.id === replayId), target.name);
      assert.match(unsignedList.anomalies.find((a: any) => a.id === replayId).reason, /possible replay/);

      // copy: only trusted snapshots leave the store, with only their trusted records.
      const dest = targets[0]!.url(`copy-of-${target.name.replace(/\s/g, '-')}`);
      const copied = await runCli(
        [
          'snapshot',
          'copy',
          '--from',
          url,
          '--to',
          dest,
          '--missing',
          '--verify-key',
          verifyKeyFile,
          '--output',
          'json',
        ],
        { ...target.env },
      );
      assert.equal(copied.code, 0, `${target.name}: ${copied.stderr}`);
      const c = copied.json().copies[0];
      assert.deepEqual(
        c.copied.map((x: any) => [x.id, x.drills]),
        real.map((m) => [m.id, 0]).reverse(),
        `${target.name}: real snapshots only, no forged record`,
      );
      await store.close();
    }
  });

  test('copy refuses object-lock flags for a store that cannot lock, and locks where it can', async () => {
    const src = targets[0]!.url('lock-source');
    const store = await targets[0]!.open(src);
    const [m] = await realSnapshots(store, 1);
    await store.putBytes(
      drillKey(store.prefix, m!.id, new Date()),
      JSON.stringify(signDrillRecord(fakeDrillRecord(m!, true), key.privateKey)),
    );
    const env = s3.cliEnv();
    const lockArgs = ['--s3-object-lock-mode', 'GOVERNANCE', '--s3-object-lock-days', '2'];
    const refused = await runCli(['snapshot', 'copy', '--from', src, '--to', 's3://plain/lock-dest', ...lockArgs], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /no object lock/);
    assert.deepEqual(await s3.listKeys('plain', 'lock-dest/'), [], 'nothing was written unlocked');
    const locked = await runCli(
      ['snapshot', 'copy', '--from', src, '--to', 's3://locked/lock-dest', ...lockArgs, '--verify-key', verifyKeyFile],
      env,
    );
    assert.equal(locked.code, 0, locked.stderr);
    const keys = await s3.listKeys('locked', 'lock-dest/');
    assert.equal(keys.length, 3, keys.join(' '));
    for (const k of keys) {
      const r = await s3.client().send(new GetObjectRetentionCommand({ Bucket: 'locked', Key: k }));
      assert.equal(r.Retention?.Mode, 'GOVERNANCE', k);
      assert.ok(r.Retention!.RetainUntilDate! > new Date(), k);
    }
    await store.close();
  });
});

test('setup signing-key makes the key pair once (0600), never replaces it; its keys sign and verify', async () => {
  const out = join(dir, 'keys');
  const made = await runCli(['setup', 'signing-key', '--out', out, '--output', 'json']);
  assert.equal(made.code, 0, made.stderr);
  const { signingKey, verifyKey, keyId } = made.json();
  assert.equal((await stat(signingKey)).mode & 0o777, 0o600);
  assert.match(keyId, /^[0-9a-f]{16}$/);
  const again = await runCli(['setup', 'signing-key', '--out', out]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /exists: a store's key is made once and kept/);
  // The pair works end to end: a manifest signed with the private key is trusted with the public one.
  const target = targets[0]!;
  const url = target.url('setup-key');
  const store = await target.open(url);
  const body = 'archive';
  const taken = new Date(Math.floor((Date.now() - 60_000) / 1000) * 1000);
  const id = idAt(taken, 1);
  await store.putBytes(archiveKey(store.prefix, id, { encrypted: false }), body);
  const { readSigningKey } = await import('../../src/repository/signature.js');
  const manifest = signManifest(
    fakeManifest({
      id,
      createdAt: taken.toISOString(),
      archive: { key: archiveKey(store.prefix, id, { encrypted: false }), bytes: body.length, sha256: sha(body) },
    }),
    await readSigningKey(signingKey),
  );
  await store.putBytes(manifestKey(store.prefix, id), JSON.stringify(manifest));
  const listed = await runCli(['snapshot', 'list', '--from', url, '--verify-key', verifyKey, '--output', 'json']);
  assert.deepEqual(
    listed.json().snapshots.map((s: any) => s.id),
    [id],
  );
  await store.close();
});
