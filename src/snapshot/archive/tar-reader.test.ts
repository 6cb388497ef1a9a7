import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import tarStream from 'tar-stream';
import { VaultOpsError } from '../../errors.js';
import { TarReader, type TarEntry } from './tar-reader.js';
import { TAR_END, paxHeader, tarFile, tarHeader, tarPadding } from '../../../test/fixtures/snapshot-archive.js';

interface Read {
  entry: TarEntry;
  data: Buffer;
}

function read(tar: Uint8Array, chunk = tar.length || 1): Read[] {
  const out: Read[] = [];
  let parts: Buffer[] = [];
  const reader = new TarReader({
    onEntry: (entry) => {
      parts = [];
      out.push({ entry, data: Buffer.alloc(0) });
    },
    onData: (data) => parts.push(Buffer.from(data)),
    onEntryEnd: () => {
      out[out.length - 1]!.data = Buffer.concat(parts);
    },
  });
  for (let i = 0; i < tar.length; i += chunk) reader.push(tar.subarray(i, i + chunk));
  reader.finish();
  return out;
}

function assertBad(tar: Uint8Array, pattern: RegExp, chunk?: number): void {
  assert.throws(
    () => read(tar, chunk),
    (err: unknown) => {
      assert.ok(err instanceof VaultOpsError);
      assert.equal(err.code, 'snapshot-corrupt');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const files = [
  { name: 'meta.json', data: Buffer.from('{"a":1}') },
  { name: 'empty', data: Buffer.alloc(0) },
  { name: 'state.bin', data: Buffer.alloc(1500, 7) },
  { name: 'exact', data: Buffer.alloc(512, 1) },
];
const simple = Buffer.concat([...files.map((f) => tarFile(f.name, f.data)), TAR_END]);

async function packWithTarStream(entries: Array<{ name: string; data: Buffer }>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry({ name: e.name, mode: 0o600, mtime: new Date(1_700_000_000_000) }, e.data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

describe('TarReader', () => {
  it('reads entries and their data, at any chunking', () => {
    for (const chunk of [1, 7, 511, 512, 513, 4096, simple.length]) {
      const got = read(simple, chunk);
      assert.deepEqual(
        got.map((r) => [r.entry.name, r.entry.type, r.entry.size, r.data.toString('hex')]),
        files.map((f) => [f.name, 'file', f.data.length, f.data.toString('hex')]),
        `chunk ${chunk}`,
      );
    }
  });

  it('reports header offsets', () => {
    assert.deepEqual(
      read(simple).map((r) => r.entry.headerOffset),
      [0, 1024, 1536, 3584],
    );
  });

  it('reads archives written by tar-stream', async () => {
    const tar = await packWithTarStream(files);
    assert.deepEqual(
      read(tar, 100).map((r) => [r.entry.name, r.data.length]),
      files.map((f) => [f.name, f.data.length]),
    );
  });

  it('applies PAX path and size records (what Go writes for files over 8 GiB)', () => {
    const data = Buffer.alloc(600, 3);
    const header = tarHeader({ name: 'short', size: 0 }); // the ustar size is overridden by PAX
    const tar = Buffer.concat([
      paxHeader({ path: 'state.bin', size: '600', mtime: '1.5' }),
      header,
      data,
      tarPadding(600),
      TAR_END,
    ]);
    const [entry] = read(tar, 3);
    assert.equal(entry?.entry.name, 'state.bin');
    assert.equal(entry?.entry.size, 600);
    assert.equal(entry?.entry.headerOffset, 0);
    assert.equal(entry?.data.length, 600);
  });

  it('reads base-256 sizes, GNU and V7 headers', () => {
    const gnu = tarHeader({ name: 'a', size: 3 });
    gnu.write('ustar  \0', 257, 8, 'latin1');
    const v7 = tarHeader({ name: 'b', size: 3 });
    v7.fill(0, 257, 265);
    const b256 = tarHeader({ name: 'c', size: 0 });
    b256.fill(0, 124, 136);
    b256[124] = 0x80;
    b256[135] = 3;
    for (const h of [gnu, v7, b256]) {
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of h) sum += x;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    }
    const tar = Buffer.concat([
      gnu,
      Buffer.from('abc'),
      tarPadding(3),
      v7,
      Buffer.from('def'),
      tarPadding(3),
      b256,
      Buffer.from('ghi'),
      tarPadding(3),
      TAR_END,
    ]);
    assert.deepEqual(
      read(tar).map((r) => [r.entry.name, r.data.toString()]),
      [
        ['a', 'abc'],
        ['b', 'def'],
        ['c', 'ghi'],
      ],
    );
  });

  it('reports non-regular entries with their type, header-only types with no data', () => {
    const tar = Buffer.concat([
      tarHeader({ name: 'd/', size: 0, typeflag: '5' }),
      tarHeader({ name: 'l', size: 0, typeflag: '2', linkname: 'x' }),
      tarFile('g', Buffer.from('9 a=b\n'), { typeflag: 'g' }),
      TAR_END,
    ]);
    assert.deepEqual(
      read(tar).map((r) => [r.entry.name, r.entry.type, r.entry.typeflag]),
      [
        ['d/', 'directory', '5'],
        ['l', 'symlink', '2'],
        ['g', 'pax-global-header', 'g'],
      ],
    );
  });

  it('accepts zero padding after the end-of-archive marker (tar record padding)', () => {
    assert.equal(read(Buffer.concat([simple, Buffer.alloc(8192)]), 1000).length, files.length);
  });

  it('rejects non-zero bytes after the end-of-archive marker', () => {
    assertBad(
      Buffer.concat([simple, Buffer.alloc(100), Buffer.from([1])]),
      /trailing data after the tar end-of-archive marker \(at tar offset 5732\)/,
    );
    assertBad(
      Buffer.concat([simple, tarFile('late', Buffer.from('x'))]),
      /trailing data after the tar end-of-archive marker/,
      1,
    );
  });

  it('rejects a zero block followed by a non-zero block', () => {
    const tar = Buffer.concat([
      tarFile('a', Buffer.from('x')),
      Buffer.alloc(512),
      tarFile('b', Buffer.from('y')),
      TAR_END,
    ]);
    assertBad(
      tar,
      /non-zero block at offset 1536 after the zero block at offset 1024 \(incomplete end-of-archive marker\)/,
    );
  });

  it('rejects truncation anywhere', () => {
    assertBad(Buffer.alloc(0), /tar archive is empty/);
    assertBad(simple.subarray(0, 100), /truncated inside the header at offset 0/);
    assertBad(simple.subarray(0, 512 + 3), /truncated inside the data of entry "meta\.json" \(3 of 7 bytes\)/);
    assertBad(simple.subarray(0, 512 + 7 + 10), /truncated inside the padding after entry "meta\.json"/);
    assertBad(
      simple.subarray(0, simple.length - 1024),
      /truncated: it ends at offset 4608 without an end-of-archive marker/,
    );
    assertBad(simple.subarray(0, simple.length - 512), /truncated inside the end-of-archive marker at offset 4608/);
    assertBad(simple.subarray(0, simple.length - 1), /truncated inside the end-of-archive marker/);
    const pax = paxHeader({ path: 'x' });
    assertBad(pax.subarray(0, 515), /truncated inside the PAX header at offset 0/);
    assertBad(pax.subarray(0, 600), /truncated inside the padding after the PAX header at offset 0/);
    assertBad(pax, /truncated after the PAX header at offset 0/);
  });

  it('rejects a bad header checksum', () => {
    assertBad(
      Buffer.concat([tarFile('a', Buffer.from('x'), { badChecksum: true }), TAR_END]),
      /not a tar archive \(header checksum mismatch at offset 0\)/,
    );
    assertBad(
      Buffer.concat([tarFile('a', Buffer.from('x')), tarFile('b', Buffer.from('x'), { badChecksum: true }), TAR_END]),
      /tar header at offset 1024 is invalid \(checksum mismatch\)/,
    );
    assertBad(Buffer.concat([Buffer.alloc(512, 0x41), TAR_END]), /not a tar archive/);
  });

  it('rejects an unknown magic and an invalid size field', () => {
    const fix = (h: Buffer) => {
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of h) sum += x;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
      return h;
    };
    const magic = tarHeader({ name: 'a', size: 0 });
    magic.write('bogus', 257, 'latin1');
    assertBad(Buffer.concat([fix(magic), TAR_END]), /tar header at offset 0 has an unknown format \(bad magic\)/);
    const size = tarHeader({ name: 'a', size: 0 });
    size.write('00000000009\0', 124, 'latin1');
    assertBad(Buffer.concat([fix(size), TAR_END]), /tar header at offset 0 has an invalid size field/);
  });

  it('rejects malformed, oversized, doubled and dangling PAX headers', () => {
    const body = Buffer.from('99 path=x\n');
    const bad = Buffer.concat([
      tarHeader({ name: 'p', size: body.length, typeflag: 'x' }),
      body,
      tarPadding(body.length),
      tarFile('a', Buffer.from('x')),
      TAR_END,
    ]);
    assertBad(bad, /tar PAX header at offset 0 is malformed/);
    const badSize = Buffer.concat([paxHeader({ size: '-1' }), tarFile('a', Buffer.from('x')), TAR_END]);
    assertBad(badSize, /PAX header at offset 0 is malformed/);
    const huge = Buffer.concat([
      tarHeader({ name: 'p', size: 65 * 1024, typeflag: 'x' }),
      Buffer.alloc(65 * 1024),
      TAR_END,
    ]);
    assertBad(huge, /PAX header at offset 0 is larger than 65536 bytes/);
    const doubled = Buffer.concat([
      paxHeader({ path: 'x' }),
      paxHeader({ path: 'y' }),
      tarFile('a', Buffer.from('x')),
      TAR_END,
    ]);
    assertBad(doubled, /PAX header at offset 1024 follows another PAX header/);
    assertBad(Buffer.concat([paxHeader({ path: 'x' }), TAR_END]), /PAX header at offset 0 is not followed by an entry/);
  });
});
