import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildSnapshotArchive, type SnapshotMutations } from '../fixtures/snapshot-archive.js';
import { runCli } from '../helpers/run-cli.js';
import { fakeManifest } from '../helpers/manifest.js';

/**
 * `vault-ops snapshot inspect` is offline: no server. Every corruption exits 3 with a message that
 * names the problem; a good archive exits 0 (both gzip levels: Vault/OpenBao ≤ 2.5 and 2.6+).
 */
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-inspect-cli-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

async function inspect(name: string, archive: Buffer): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(dir, name);
  await writeFile(file, archive);
  return runCli(['snapshot', 'inspect', file]);
}

test('a good archive at gzip level 6 and level 0 (stored) passes', async () => {
  for (const gzipLevel of [6, 0]) {
    const r = await inspect(`good-${gzipLevel}.snap`, buildSnapshotArchive({ gzipLevel }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: OK/);
    assert.match(r.stdout, /Key counts by prefix/);
  }
});

const corruptions: Array<[string, SnapshotMutations, RegExp]> = [
  ['flipped byte in state.bin', { flipStateBinByte: 10 }, /state\.bin/],
  ['truncated gzip', { truncate: 200 }, /truncated|unexpected end|end of/i],
  ['missing SHA256SUMS.sealed', { drop: ['SHA256SUMS.sealed'] }, /SHA256SUMS\.sealed/],
  ['empty SHA256SUMS.sealed', { emptySealed: true }, /SHA256SUMS\.sealed/],
  ['extra tar entry', { extraEntries: [{ name: 'extra.txt', data: Buffer.from('x') }] }, /extra\.txt/],
  [
    'tar entry with ../ in its name',
    { extraEntries: [{ name: '../evil', data: Buffer.from('x'), first: true }] },
    /\.\.\/evil|unsafe|path/i,
  ],
  ['oversized meta.json', { metaPadTo: 2 * 1024 * 1024 }, /meta\.json/],
  ['wrong Size in meta.json', { metaSize: 12345 }, /Size|size/],
];

for (const [what, mutate, names] of corruptions) {
  test(`inspect rejects: ${what} (exit 3, names the problem)`, async () => {
    const r = await inspect(`${what.replace(/\W+/g, '-')}.snap`, buildSnapshotArchive({ mutate }));
    assert.equal(r.code, 3, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^error: snapshot archive is corrupt: /);
    assert.match(r.stderr, names);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
}

test('inspect re-checks the manifest beside the archive: a mismatching sha256 exits 3', async () => {
  const id = '20261127T184600Z-3f9a1c';
  const archive = buildSnapshotArchive();
  await writeFile(join(dir, `${id}.snap`), archive);
  const m = fakeManifest({
    id,
    createdAt: '2026-11-27T18:46:00.000Z',
    archive: { key: `${id}.snap`, bytes: archive.length, sha256: 'f'.repeat(64) },
  });
  await writeFile(join(dir, `${id}.manifest.json`), JSON.stringify(m));
  const r = await runCli(['snapshot', 'inspect', join(dir, `${id}.snap`)]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /does not match the manifest/);
});

test('inspect of a missing file: exit 1 with the path', async () => {
  const r = await runCli(['snapshot', 'inspect', join(dir, 'nope.snap')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /nope\.snap \(ENOENT\)/);
});
