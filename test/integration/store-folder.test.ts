import assert from 'node:assert/strict';
import { chmod, chown, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { VaultOpsError } from '../../src/errors.js';
import { FolderStore } from '../../src/store/folder-store.js';
import { openSnapshotStore, parseStoreUrl } from '../../src/store/open-store.js';
import { runCli } from '../helpers/run-cli.js';
import { storeContract } from './store-contract.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vault-ops-folder-store-'));
  dirs.push(d);
  return d;
}

storeContract('folder store', async () => new FolderStore(await freshDir()));

test('store URLs: file://, plain paths, s3://', () => {
  assert.deepEqual(parseStoreUrl('file:///var/backups/vault'), { kind: 'folder', dir: '/var/backups/vault' });
  assert.deepEqual(parseStoreUrl('/abs/dir'), { kind: 'folder', dir: '/abs/dir' });
  assert.equal(parseStoreUrl('./backups').kind, 'folder');
  assert.deepEqual(parseStoreUrl('s3://my-bucket/vault/prod/'), {
    kind: 's3',
    bucket: 'my-bucket',
    prefix: 'vault/prod',
  });
  assert.deepEqual(parseStoreUrl('s3://my-bucket'), { kind: 's3', bucket: 'my-bucket', prefix: '' });
  assert.throws(() => parseStoreUrl('ftp://x/y'), /unsupported store URL/);
  assert.throws(() => parseStoreUrl('s3://Bad_Bucket/x'), /invalid S3 bucket/);
});

test('folder store: a folder that cannot be written gives a clear error and leaves nothing', async () => {
  const dir = await freshDir();
  // Tests run as root in CI, and root ignores permission bits: make the folder's path go through
  // a file instead, which no user can write below.
  await writeFile(join(dir, 'blocked'), 'not a directory');
  const store = await openSnapshotStore(join(dir, 'blocked', 'sub'), { createFolder: true });
  await assert.rejects(
    store.putBytes('x.snap', 'data'),
    (e: VaultOpsError) => e.code === 'store' && /cannot write x\.snap .*ENOTDIR/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), ['blocked']);
  if (process.getuid?.() !== 0) {
    const locked = await freshDir();
    await chmod(locked, 0o500);
    await assert.rejects(new FolderStore(locked).putBytes('x.snap', 'data'), /not writable/);
  }
});

test('folder store: a write error from the disk (ENOSPC-like) removes the temp file', async () => {
  const dir = await freshDir();
  const store = new FolderStore(dir);
  const diskFull = new Readable({
    read() {
      this.push(Buffer.alloc(64 * 1024));
      const err = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      this.destroy(err);
    },
  });
  await assert.rejects(
    store.putStream('full.snap', diskFull),
    (e: VaultOpsError) => e.code === 'store' && /disk is full/.test(e.message),
  );
  assert.deepEqual(await readdir(dir), []);
});

test('folder store: incomplete temp files are listed and can be cleaned up', async () => {
  const dir = await freshDir();
  await writeFile(join(dir, '.vault-ops-partial-0123abcd-20261127T184600Z-3f9a1c.snap'), 'partial');
  const store = new FolderStore(dir);
  assert.deepEqual(await store.list(), []);
  const incomplete = await store.listIncomplete();
  assert.equal(incomplete.length, 1);
  assert.equal(incomplete[0]!.key, '20261127T184600Z-3f9a1c.snap');
  await store.abortIncomplete(incomplete[0]!);
  assert.deepEqual(await readdir(dir), []);
});

test('folder store: archives and manifests are written 0600 in folders created 0700 (owner only)', async () => {
  const root = join(await freshDir(), 'new-store');
  const store = new FolderStore(root);
  await store.putStream('team/prod/20261129T000000Z-abcdef.snap', Readable.from([Buffer.from('archive bytes')]));
  await store.putBytes('team/prod/20261129T000000Z-abcdef.manifest.json', '{}');
  const { stat } = await import('node:fs/promises');
  for (const dir of [root, join(root, 'team'), join(root, 'team/prod')])
    assert.equal((await stat(dir)).mode & 0o777, 0o700, dir);
  for (const file of ['20261129T000000Z-abcdef.snap', '20261129T000000Z-abcdef.manifest.json']) {
    assert.equal((await stat(join(root, 'team/prod', file))).mode & 0o777, 0o600, file);
  }
});

test('a folder that does not exist is an error for readers and is created by writers (issue #17)', async () => {
  const missing = join(await freshDir(), 'no', 'such', 'dir');
  for (const args of [
    ['snapshot', 'list', '--from', missing],
    ['snapshot', 'prune', '--from', missing, '--keep-last', '3'],
    ['snapshot', 'inspect', `file://${missing}#latest`],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.all}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`snapshot store folder ${missing} does not exist: check the path`));
    assert.doesNotMatch(r.stdout, /no snapshots/);
  }
  const aFile = join(await freshDir(), 'file');
  await writeFile(aFile, 'x');
  await assert.rejects(openSnapshotStore(aFile), /is not a folder/);
  const store = await openSnapshotStore(missing, { createFolder: true });
  assert.deepEqual(await store.list(), []);
  await store.putBytes('x.json', '{}');
  assert.equal(((await stat(missing)).mode & 0o777).toString(8), '700');
});

test('an existing store folder others can write to is refused, for readers and writers (issue #22)', async () => {
  const shared = await freshDir();
  await chmod(shared, 0o777);
  for (const args of [
    ['snapshot', 'list', '--from', shared],
    ['snapshot', 'prune', '--from', shared, '--keep-last', '3'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.all}`);
    assert.match(
      r.stderr,
      new RegExp(`^error: snapshot store folder ${shared} is writable by everyone \\(mode 0777\\): .*chmod go-w`),
    );
  }
  await assert.rejects(openSnapshotStore(shared, { createFolder: true }), /is writable by everyone/);
  await chmod(shared, 0o770);
  await assert.rejects(openSnapshotStore(shared), /is writable by its group \(mode 0770\)/);
  await chmod(shared, 0o755);
  assert.deepEqual(await (await openSnapshotStore(shared)).list(), [], 'readable by others is fine');
  // Owned by another user (not root): refused. The test runs as root, so hand the folder to nobody.
  if (process.getuid?.() === 0) {
    await chown(shared, 65534, 65534);
    await assert.rejects(openSnapshotStore(shared), /belongs to uid 65534, not to this user \(0\) or root/);
  }
});
