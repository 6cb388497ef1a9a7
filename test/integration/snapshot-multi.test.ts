import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import { runCli } from '../helpers/run-cli.js';
import { seedSecrets } from '../helpers/seed.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

const run = promisify(execFile);

/**
 * Several destinations: `snapshot save --to A --to B` (one read, every store its own complete copy,
 * a failing store cut off while the others complete), `snapshot copy` (sha256-checked, create-only,
 * drill records along) and retention applied per store. Real OpenBao / Vault and versitygw.
 */
let vault: VaultTestbed;
let s3: S3Testbed;
let dir: string;
let env: Record<string, string>;
let signingKey: string;
let verifyKey: string;

before(async () => {
  [vault, s3] = await Promise.all([startVault(), startS3()]);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-multi-'));
  await seedSecrets(vault.addr, vault.rootToken, { count: 10 });
  // Incompressible values so that the archive spans two multipart parts (~12 MB): the S3 store
  // can then be cut in the middle of its upload.
  await seedSecrets(vault.addr, vault.rootToken, { count: 24, valueBytes: 500_000, prefix: 'bulk' });
  await s3.createBucket('multi');
  signingKey = join(dir, 'signing.pem');
  verifyKey = join(dir, 'verify.pem');
  await run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', signingKey]);
  await run('openssl', ['pkey', '-in', signingKey, '-pubout', '-out', verifyKey]);
  env = {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
    ...s3.cliEnv(),
  };
});
after(async () => {
  await Promise.allSettled([vault?.stop(), s3?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function catalogue(url: string, extraEnv: Record<string, string> = {}) {
  const r = await runCli(['snapshot', 'list', '--from', url, '--output', 'json'], { ...env, ...extraEnv });
  assert.equal(r.code, 0, r.stderr);
  return r.json() as { snapshots: Array<{ id: string; archive: { key: string; sha256: string } }>; incomplete: [] };
}

async function inspectOk(url: string, id: string): Promise<void> {
  const r = await runCli(['snapshot', 'inspect', `${url}#${id}`, '--verify-key', verifyKey, '--output', 'json'], env);
  assert.equal(r.code, 0, `${url}#${id}: ${r.stderr}`);
}

describe(onServer('snapshot save to several stores, snapshot copy, retention per store'), () => {
  const folder = () => `file://${join(dir, 'folder')}`;

  test('save --to folder --to s3: one read, both complete with the same id, both manifests valid', async () => {
    const r = await runCli(
      [
        'snapshot',
        'save',
        '--to',
        folder(),
        '--to',
        's3://multi/prod',
        '--signing-key',
        signingKey,
        '--metrics-textfile',
        join(dir, 'ok.prom'),
        '--output',
        'json',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = r.json();
    assert.equal(out.destinations.length, 2);
    assert.ok(
      out.destinations.every((d: any) => d.stored),
      JSON.stringify(out.destinations),
    );
    const [inFolder, inS3] = [await catalogue(folder()), await catalogue('s3://multi/prod')];
    assert.deepEqual(
      inFolder.snapshots.map((m) => m.id),
      [out.id],
    );
    assert.deepEqual(
      inS3.snapshots.map((m) => m.id),
      [out.id],
    );
    assert.equal(inS3.snapshots[0]!.archive.key, `prod/${out.id}.snap`, 'each store its own key');
    assert.equal(inFolder.snapshots[0]!.archive.sha256, inS3.snapshots[0]!.archive.sha256, 'the same bytes');
    await inspectOk(folder(), out.id);
    await inspectOk('s3://multi/prod', out.id);
    const prom = await readFile(join(dir, 'ok.prom'), 'utf8');
    for (const store of [folder(), 's3://multi/prod'])
      assert.match(
        prom,
        new RegExp(
          `^vault_ops_snapshot_last_success_timestamp_seconds\\{store="${store}",vault_cluster="[^"]+"\\} \\d+`,
          'm',
        ),
      );
  });

  test('a store cut mid-upload: exit 1 naming it, the other copy complete, nothing partial left', async () => {
    // The S3 store is reached through a proxy that cuts every answer to the upload of part 1; the
    // store is named ("cut") and gets its endpoint and credentials from its own variables only.
    const proxy = await startTcpProxy(
      { host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) },
      { cutDownstreamAfter: 0, cutOnlyWhen: 'partNumber=1' },
    );
    try {
      const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _b, VAULT_OPS_S3_ENDPOINT: _c, ...withoutS3 } = env;
      const r = await runCli(
        [
          'snapshot',
          'save',
          '--to',
          folder(),
          '--to',
          'cut=s3://multi/cut',
          '--signing-key',
          signingKey,
          '--metrics-textfile',
          join(dir, 'cut.prom'),
          '--output',
          'json',
        ],
        {
          ...withoutS3,
          VAULT_OPS_STORE_CUT_AWS_ACCESS_KEY_ID: s3.accessKeyId,
          VAULT_OPS_STORE_CUT_AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
          VAULT_OPS_STORE_CUT_VAULT_OPS_S3_ENDPOINT: proxy.addr,
        },
      );
      assert.equal(r.code, 1, r.all);
      const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errorLines.length, 1, r.stderr);
      assert.match(errorLines[0]!, /was not stored in s3:\/\/multi\/cut \(/);
      assert.doesNotMatch(errorLines[0]!, /not stored in file:/);
      assert.ok(!r.all.includes(s3.secretAccessKey), 'the store credentials never appear');
      const out = r.json();
      assert.deepEqual(
        out.destinations.map((d: any) => d.stored),
        [true, false],
      );
      await inspectOk(folder(), out.id);
      assert.deepEqual(await s3.listKeys('multi', 'cut/'), [], 'no object in the cut store');
      const cutList = await catalogue('s3://multi/cut');
      assert.deepEqual(cutList.snapshots, []);
      assert.deepEqual(cutList.incomplete, [], 'no unfinished multipart upload either');
      const prom = await readFile(join(dir, 'cut.prom'), 'utf8');
      assert.match(
        prom,
        /^vault_ops_snapshot_failures_total\{reason="store",store="s3:\/\/multi\/cut",vault_cluster="[^"]+"\} 1$/m,
      );
      assert.match(
        prom,
        /^vault_ops_snapshot_last_success_timestamp_seconds\{store="file:\/\/[^"]+\/folder",vault_cluster="[^"]+"\} \d+/m,
      );
    } finally {
      await proxy.close();
    }
  });

  test('copy latest, an id (skipped when there), --missing oldest first; drill records follow; signed', async () => {
    const source = await catalogue(folder());
    assert.equal(source.snapshots.length, 2);
    const [newest, oldest] = source.snapshots;
    // A drill record of the oldest snapshot, to travel with it.
    const repo = new SnapshotRepository(await openSnapshotStore(folder()));
    await repo.drills.write({
      snapshotId: oldest!.id,
      finishedAt: new Date().toISOString(),
      passed: true,
      mode: 'recovery',
      server: { flavour: vault.server.name as 'vault' | 'openbao', version: vault.server.version },
      checks: [{ name: 'mounts', passed: true, detail: 'ok' }],
      timings: { download: 1, start: 1, restore: 1, unseal: 1, checks: 1, total: 5 },
      rtoSeconds: 5,
      toolVersion: '0.0.0-test',
    });
    await repo.close();

    const latest = await runCli(
      ['snapshot', 'copy', '--from', folder(), '--to', 's3://multi/copy', '--output', 'json'],
      env,
    );
    assert.equal(latest.code, 0, latest.stderr);
    const l = latest.json().copies[0];
    assert.deepEqual(
      l.copied.map((c: any) => c.id),
      [newest!.id],
    );
    assert.equal(l.copied[0].sha256, newest!.archive.sha256);
    assert.equal(l.copied[0].archiveKey, `copy/${newest!.id}.snap`);

    const again = await runCli(
      ['snapshot', 'copy', '--from', folder(), '--to', 's3://multi/copy', '--snapshot', newest!.id],
      env,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`skipped\\s+${newest!.id}\\s+already in s3://multi/copy`));

    const missing = await runCli(
      ['snapshot', 'copy', '--from', folder(), '--to', 's3://multi/copy', '--missing', '--output', 'json'],
      env,
    );
    assert.equal(missing.code, 0, missing.stderr);
    const m = missing.json().copies[0];
    assert.deepEqual(
      m.copied.map((c: any) => [c.id, c.drills]),
      [[oldest!.id, 1]],
    );
    assert.deepEqual(
      m.skipped.map((s: any) => s.id),
      [newest!.id],
    );
    const copied = await catalogue('s3://multi/copy');
    assert.deepEqual(
      copied.snapshots.map((x) => x.id),
      [newest!.id, oldest!.id],
    );
    // Signed in the folder, copied under another prefix: still verifies with --verify-key.
    await inspectOk('s3://multi/copy', oldest!.id);
    await inspectOk('s3://multi/copy', newest!.id);
    const copy = new SnapshotRepository(
      await openSnapshotStore(
        's3://multi/copy',
        { s3Endpoint: s3.endpoint, s3ForcePathStyle: true, s3Region: s3.region, allowInsecureHttp: false },
        env,
      ),
    );
    const drills = (await copy.drillHistory(await copy.catalogue(), [oldest!.id])).get(oldest!.id) ?? [];
    await copy.close();
    assert.equal(drills.length, 1);
    assert.equal(drills[0]!.rtoSeconds, 5);

    // A drill of a snapshot after it was copied: the next --missing brings its record over (once).
    const later = new SnapshotRepository(await openSnapshotStore(folder()));
    const { key: _copiedKey, ...copiedDrill } = drills[0]!;
    await later.drills.write({ ...copiedDrill, finishedAt: new Date(Date.now() + 5000).toISOString(), rtoSeconds: 7 });
    await later.close();
    const sync = await runCli(
      ['snapshot', 'copy', '--from', folder(), '--to', 's3://multi/copy', '--missing', '--output', 'json'],
      env,
    );
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual(sync.json().copies[0].copied, []);
    assert.deepEqual(
      sync
        .json()
        .copies[0].skipped.map((x: any) => [x.id, x.drills])
        .sort(),
      [
        [newest!.id, 0],
        [oldest!.id, 1],
      ].sort(),
    );
    const again2 = await runCli(
      ['snapshot', 'copy', '--from', folder(), '--to', 's3://multi/copy', '--missing', '--output', 'json'],
      env,
    );
    assert.deepEqual(
      again2.json().copies[0].skipped.map((x: any) => x.drills),
      [0, 0],
    );
  });

  test('copy of a damaged source archive: exit 3, nothing in the destination', async () => {
    const damaged = join(dir, 'damaged');
    const copy = await runCli(['snapshot', 'copy', '--from', folder(), '--to', damaged], env);
    assert.equal(copy.code, 0, copy.stderr);
    const [archive] = (await readdir(damaged)).filter((n) => n.endsWith('.snap'));
    const bytes = await readFile(join(damaged, archive!));
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(join(damaged, archive!), bytes);
    const r = await runCli(['snapshot', 'copy', '--from', damaged, '--to', 's3://multi/from-damaged'], env);
    assert.equal(r.code, 3, r.all);
    assert.match(r.stderr, /does not match its manifest \(sha256/);
    assert.deepEqual(await s3.listKeys('multi', 'from-damaged/'), []);
    assert.deepEqual((await catalogue('s3://multi/from-damaged')).incomplete, []);
  });

  test('retention per store: save --prune prunes each store; prune --from each with its own policy', async () => {
    const a = `file://${join(dir, 'keep-a')}`;
    const b = 's3://multi/keep-b';
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['snapshot', 'save', '--to', a, '--to', b, '--prune', '--keep-last', '2'], env);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await catalogue(a)).snapshots.length, 2);
    assert.equal((await catalogue(b)).snapshots.length, 2);
    const pruneB = await runCli(['snapshot', 'prune', '--from', b, '--keep-last', '1'], env);
    assert.equal(pruneB.code, 0, pruneB.stderr);
    assert.equal((await catalogue(a)).snapshots.length, 2, 'the other store keeps its own retention');
    assert.equal((await catalogue(b)).snapshots.length, 1);
  });
});
