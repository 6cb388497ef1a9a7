import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { VaultOpsError } from '../../errors.js';
import {
  createArchiveInspector,
  inspectArchive,
  type ArchiveInspection,
  type InspectOptions,
} from './archive-inspector.js';
import {
  TAR_END,
  buildSnapshotArchive,
  buildSnapshotParts,
  buildSnapshotTar,
  defaultRecords,
  encodeRecord,
  encodeStateBin,
  encodeUvarint,
  sha256Hex,
  tarFile,
  type BuildSnapshotOptions,
  type SnapshotMutations,
} from '../../../test/fixtures/snapshot-archive.js';

function chunked(bytes: Uint8Array, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(Buffer.from(bytes.subarray(i, i + size)));
  return Readable.from(chunks);
}

function inspect(bytes: Uint8Array, options: InspectOptions & { chunk?: number } = {}): Promise<ArchiveInspection> {
  const { chunk = 16 * 1024, ...rest } = options;
  return inspectArchive(chunked(bytes, chunk), rest);
}

async function assertCorrupt(promise: Promise<unknown>, pattern: RegExp): Promise<VaultOpsError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof VaultOpsError, `expected a VaultOpsError, got ${String(caught)}`);
  assert.equal(caught.code, 'snapshot-corrupt');
  assert.match(caught.message, /^snapshot archive is corrupt: /);
  assert.ok(!caught.message.includes('\n'), 'one-line message');
  assert.match(caught.message, pattern);
  return caught;
}

function corruptArchive(mutate: SnapshotMutations, options: Omit<BuildSnapshotOptions, 'mutate'> = {}): Buffer {
  return buildSnapshotArchive({ ...options, mutate });
}

const expectedMeta = {
  version: 1,
  id: '2-1234-1700000000000',
  index: 1234,
  term: 2,
  configurationIndex: 1,
  servers: [
    { id: 'node1', address: '127.0.0.1:8201', suffrage: 'voter' },
    { id: 'node2', address: '127.0.0.2:8201', suffrage: 'nonvoter' },
    { id: 'node3', address: '127.0.0.3:8201', suffrage: 'staging' },
  ],
};

function expectedInspection(options: BuildSnapshotOptions = {}): ArchiveInspection {
  const parts = buildSnapshotParts(options);
  return {
    meta: { ...expectedMeta, size: parts.stateBin.length },
    stateBinBytes: parts.stateBin.length,
    entryCount: (options.entries ?? defaultRecords()).length,
    keyCounts: { 'core/': 5, 'index-dr/': 1, 'logical/': 3, 'sys/': 3 },
    sums: { metaJson: sha256Hex(parts.metaJson), stateBin: sha256Hex(parts.stateBin) },
    sealedSumsBytes: parts.sealed.length,
  };
}

/** Archives written by Go's archive/tar and compress/gzip (as Vault and OpenBao write them). */
const goArchives = {
  // tar.Header{Name, Mode: 0600, Size, ModTime} (ustar), gzip.DefaultCompression
  ustar: [
    'H4sIAAAAAAAA/+yWy2rbTBTHna354ANTujZnrchn7hpBF6GFNotAQW02pYu5yahVpCLJoa7x+/UV+jbFrnGCU8ii2OpFv82A0P+c',
    'oxl+jG5CZ+IPbV2NjgciokTcrvhwRab4iHBBuVLIN88JQclHUzziTHsWbWeaEf5yr8OP+0NYwXVo2qKuICURXL6AFOi51udE4R0Q',
    'wWXlw2dItY7gTWhuIKURvA6haSEF9/K6dNXVM4jgeV3lxXzRmG5bcgVZaG63b71bQbbI88bMA6S4a1XVPhCI4ML7JrSbWoSqGGOM',
    'SZpQJLCO7sfIvRj9aYzuYu/XB7Ps5lcRZMWXACmVbN333v8OtJ3pQmyLPv3nqB74L+jg/yn4djb+z9VNmH0My6ao5pOvZ38LT8b/',
    'l/W8cKacGetmeV1Pzm6fjiftsp19qsvCLWc+5GZRdpO+T6E/slcXVMjs7VV2vB6P+U8ZHviPgonB/1PgSVBeM8kpUs4s9YnQgiPl',
    'RhOnFUqf55w5mVjDuBCJJjYXlOSEKGYlkdPp/g9yTJnT1kmfM0Kp00JpqXJp6KacMEIlHBMrFG7iVHiprCDGSJMkzFJi3XS6v43G',
    'fe/Lv8Kd/3EbTBn8EXo85j8Sdnj/K4WD/6fgx6Gf27K2fY8yMDAwMHBCvgcAAP//5qS/rQAUAAA=',
  ].join(''),
  // the same with Format: tar.FormatPAX (a PAX header before every entry)
  pax: [
    'H4sIAAAAAAAA/+yYz2rbShSHna25cMFc7lrMWpHPnPknCbII90KTRSDgNpvSxYxmZNTKUpHkkDTk/foKfZviJE1iN2loseW0mW9j',
    'Y3zmHEv+zefxsT47cNq6po1gPHOdjt63dTVYK3DNY48ATN49X7xOETgdBGfrHeNh5m2nmwFAH72eIQyCWVfM3B5V365/RJFxIVWc',
    'DLc9nWfTbCjySyy+VPIH+WeKDygXyJUCfpV/CpIPgl4yua78r36434QLcuKatqgrktKQHP5PUoK7SbJ7tx0AAAnJYWXdGUmTJCSv',
    'XTMjKYbk2LmmJSnJXp2UWXW0R0LyX13lxXTe6O5qyQsycc3p1bveXpDJPM8bPXUkhZtWVW0dJSHZt7Zx7WItiiqCCCKaxgiUXIb3',
    'y+i9MnywDG/K3l2uzHIzvwrJpPjkSIqSXW772j8HlvzfdrpzkSmegf8Zev/3gff/y2ZDkV/iKf9zUN/5X6D3fx982Rn+ldWNG39w',
    '501RTUefd/4U/hn+XdbTItPlWJtsnNf1aOf03+GoPW/HH+uyyM7H1uV6Xnajbd+F7bHk/8nBPgo5eXM0WWuPn/c/Fci8//vA+/9l',
    's6HIL/GU/5HBiv9BMOH93weWOmUTJjkCcmbQxiIRHJDrhGaJAmnznLNMxkYzLkScUJMLpDmlihlJZRDc/oM0RJYlJpM2ZxQxS4RK',
    'pMqlxsVyQgsVc4iNULAoR2GlMoJqLXUcM4PUZEFw+2vU7zw98Yj/o9bp0tn19PiF878Syvu/D7z/XzYbivwST/kfKFs9/ysF3v99',
    'cH3Td01Zm22P4vF4PJ4e+RoAAP//J4e28AAkAAA=',
  ].join(''),
};

describe('inspectArchive: valid archives', () => {
  it('inspects a gzip level 6 archive', async () => {
    assert.deepEqual(await inspect(buildSnapshotArchive({ gzipLevel: 6 })), expectedInspection());
  });

  it('inspects a gzip level 0 (stored blocks, OpenBao 2.6+) archive', async () => {
    const archive = buildSnapshotArchive({ gzipLevel: 0 });
    assert.ok(archive.length > buildSnapshotTar().length, 'level 0 does not compress');
    assert.deepEqual(await inspect(archive), expectedInspection());
  });

  it('handles records straddling chunk boundaries: 1-byte chunks', async () => {
    // At level 0 each compressed byte inflates to one byte, so state.bin arrives a byte at a time.
    assert.deepEqual(await inspect(buildSnapshotArchive({ gzipLevel: 0 }), { chunk: 1 }), expectedInspection());
    assert.deepEqual(await inspect(buildSnapshotArchive({ gzipLevel: 6 }), { chunk: 1 }), expectedInspection());
  });

  it('handles large records across many chunks', async () => {
    const entries = [
      { key: 'core/big', value: Buffer.alloc(200_000, 5) },
      { key: 'sys/x', value: Buffer.alloc(10) },
      { key: 'core/other', value: Buffer.alloc(70_000, 6), sealWrap: true },
    ];
    const got = await inspect(buildSnapshotArchive({ entries, gzipLevel: 0 }), { chunk: 997 });
    assert.equal(got.entryCount, 3);
    assert.deepEqual(got.keyCounts, { 'core/': 2, 'sys/': 1 });
  });

  it('counts keys at depth 2', async () => {
    const got = await inspect(buildSnapshotArchive(), { depth: 2 });
    assert.deepEqual(got.keyCounts, {
      'core/auth': 1,
      'core/keyring': 1,
      'core/master': 1,
      'core/mounts': 1,
      'core/seal-config': 1,
      'index-dr/checkpoint': 1,
      'logical/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/': 1,
      'logical/6a8c3f0e-1b2d-4c5e-9f70-8a1b2c3d4e5f/': 2,
      'sys/policy/': 1,
      'sys/token/': 2,
    });
  });

  it('accepts the entries in any order', async () => {
    for (const order of [
      ['SHA256SUMS.sealed', 'SHA256SUMS', 'state.bin', 'meta.json'],
      ['state.bin', 'SHA256SUMS', 'meta.json', 'SHA256SUMS.sealed'],
    ] as const) {
      assert.deepEqual(await inspect(corruptArchive({ order: [...order] })), expectedInspection());
    }
  });

  it('accepts an empty state.bin', async () => {
    const got = await inspect(buildSnapshotArchive({ entries: [] }));
    assert.equal(got.entryCount, 0);
    assert.equal(got.stateBinBytes, 0);
    assert.deepEqual(got.keyCounts, {});
  });

  it('accepts PAX headers and zero record padding after the end-of-archive marker', async () => {
    assert.deepEqual(
      await inspect(corruptArchive({ pax: true, tarTrailing: Buffer.alloc(8192) }), { chunk: 100 }),
      expectedInspection(),
    );
  });

  it('reads archives written by Go (archive/tar + compress/gzip), ustar and PAX', async () => {
    for (const [format, base64] of Object.entries(goArchives)) {
      const got = await inspect(Buffer.from(base64, 'base64'), { chunk: 50 });
      assert.deepEqual(
        got,
        {
          meta: {
            version: 1,
            id: '2-99-1700000000000',
            index: 99,
            term: 2,
            configurationIndex: 7,
            size: 263,
            servers: [
              { id: 'node1', address: '127.0.0.1:8201', suffrage: 'voter' },
              { id: 'node2', address: '127.0.0.2:8201', suffrage: 'nonvoter' },
            ],
          },
          stateBinBytes: 263,
          entryCount: 3,
          keyCounts: { 'core/': 1, 'logical/': 1, 'sys/': 1 },
          sums: {
            metaJson: 'd1e7d936420243b2d85954024a91c9706dff43c68ba3455891bf521f1173b616',
            stateBin: '23c9bc6df3122c957967f6a240245a578408b57021f125d67b51aa6a883b21bc',
          },
          sealedSumsBytes: 11,
        },
        format,
      );
    }
  });

  it('reads an archive packed by tar-stream', async () => {
    const parts = buildSnapshotParts();
    const pack = tarStream.pack();
    pack.entry({ name: 'meta.json' }, parts.metaJson);
    pack.entry({ name: 'state.bin' }, parts.stateBin);
    pack.entry({ name: 'SHA256SUMS' }, parts.sums);
    pack.entry({ name: 'SHA256SUMS.sealed' }, parts.sealed);
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
    assert.deepEqual(await inspect(gzipSync(Buffer.concat(chunks))), expectedInspection());
  });

  it('accepts a second, empty gzip member (RFC 1952 allows concatenated members)', async () => {
    assert.deepEqual(await inspect(corruptArchive({ gzipTrailing: gzipSync(Buffer.alloc(0)) })), expectedInspection());
  });
});

describe('inspectArchive: rejections', () => {
  it('rejects data that is not gzip', async () => {
    await assertCorrupt(
      inspect(Buffer.from('hello, this is not gzip')),
      /not gzip-compressed data \(bad magic number\)/,
    );
    await assertCorrupt(inspect(buildSnapshotTar()), /not gzip-compressed data/);
    await assertCorrupt(inspect(Buffer.from([0x1f, 0x00, 0x00])), /not gzip-compressed data/);
  });

  it('rejects an empty input', async () => {
    await assertCorrupt(inspect(Buffer.alloc(0)), /the archive is empty \(0 bytes\)/);
  });

  it('rejects a truncated gzip stream', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ truncate: 1 })),
      /gzip stream is truncated \(unexpected end of file\)/,
    );
    await assertCorrupt(inspect(corruptArchive({ truncate: 100 })), /gzip stream is truncated/);
    await assertCorrupt(inspect(buildSnapshotArchive().subarray(0, 1)), /gzip stream is truncated/);
    await assertCorrupt(
      inspect(buildSnapshotArchive({ gzipLevel: 0 }).subarray(0, 3000), { chunk: 1 }),
      /gzip stream is truncated/,
    );
  });

  it('rejects a gzip CRC-32 or length mismatch', async () => {
    const crc = buildSnapshotArchive();
    crc[crc.length - 8] = crc[crc.length - 8]! ^ 0x01;
    await assertCorrupt(inspect(crc), /gzip stream failed its CRC-32 check/);
    const length = buildSnapshotArchive();
    length[length.length - 1] = length[length.length - 1]! ^ 0x01;
    await assertCorrupt(inspect(length), /gzip stream failed its length check/);
  });

  it('rejects trailing garbage after the gzip stream, in the same or a later chunk', async () => {
    const archive = corruptArchive({ gzipTrailing: Buffer.from('garbage') });
    await assertCorrupt(inspect(archive), /trailing data after the end of the gzip stream/);
    await assertCorrupt(
      inspectArchive(Readable.from([buildSnapshotArchive(), Buffer.from('garbage')])),
      /trailing data after the end of the gzip stream/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ gzipTrailing: Buffer.from([0]) })),
      /trailing data after the end of the gzip stream/,
    );
  });

  it('rejects data after the tar end-of-archive marker, also in a second gzip member', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ tarTrailing: Buffer.from('x') })),
      /trailing data after the tar end-of-archive marker/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ gzipTrailing: gzipSync(Buffer.from('more')) })),
      /trailing data after the tar end-of-archive marker/,
    );
  });

  it('rejects gzip data that is not a tar archive', async () => {
    await assertCorrupt(
      inspect(gzipSync(Buffer.alloc(4096, 0x41))),
      /not a tar archive \(header checksum mismatch at offset 0\)/,
    );
    await assertCorrupt(inspect(gzipSync(Buffer.alloc(0))), /tar archive is empty/);
  });

  it('rejects a corrupted tar header', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ badChecksum: 'state.bin' })),
      /tar header at offset 1024 is invalid \(checksum mismatch\)/,
    );
  });

  it('rejects a truncated tar archive', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ truncateTar: buildSnapshotTar().length - 2000 })),
      /tar archive is truncated inside the data of entry "state\.bin"/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ truncateTar: buildSnapshotTar().length - 3584 - 100 })),
      /tar archive is truncated inside the header at offset 3584/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ truncateTar: 1024 + 100 })),
      /tar archive is truncated inside the padding after entry "SHA256SUMS\.sealed"/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ omitEndMarker: true })),
      /tar archive is truncated: it ends at offset \d+ without an end-of-archive marker/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ halfEndMarker: true })),
      /tar archive is truncated inside the end-of-archive marker/,
    );
  });

  it('rejects an unexpected entry, naming it', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ extraEntries: [{ name: 'extra.txt' }] })),
      /unexpected tar entry "extra\.txt" at offset \d+ \(expected only meta\.json, state\.bin, SHA256SUMS, SHA256SUMS\.sealed\)/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ extraEntries: [{ name: 'META.JSON', first: true }] })),
      /unexpected tar entry "META\.JSON" at offset 0/,
    );
  });

  it('rejects a duplicate entry', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ duplicate: 'state.bin' })),
      /tar entry state\.bin appears more than once/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ duplicate: 'SHA256SUMS.sealed' })),
      /tar entry SHA256SUMS\.sealed appears more than once/,
    );
  });

  it('rejects unsafe entry names: path separators, "..", absolute paths', async () => {
    for (const name of ['../x', '..', '/etc/passwd', 'dir/meta.json', './state.bin', 'a\\b']) {
      const err = await assertCorrupt(
        inspect(corruptArchive({ extraEntries: [{ name, first: true }] })),
        /has an unsafe path/,
      );
      assert.ok(err.message.includes(JSON.stringify(name)), `names ${name}`);
    }
    // The same through a PAX path record, which overrides the ustar name.
    const parts = buildSnapshotParts();
    const tar = Buffer.concat([tarFile('meta.json', parts.metaJson, { pax: { path: '../evil' } }), TAR_END]);
    await assertCorrupt(inspect(gzipSync(tar)), /tar entry "\.\.\/evil" at offset 0 has an unsafe path/);
  });

  it('rejects non-regular-file entries', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ typeflag: { name: 'state.bin', typeflag: '2', linkname: '/etc/shadow' } })),
      /tar entry state\.bin is a symbolic link, not a regular file/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ typeflag: { name: 'meta.json', typeflag: '5' } })),
      /tar entry meta\.json is a directory, not a regular file/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ typeflag: { name: 'SHA256SUMS', typeflag: '1' } })),
      /SHA256SUMS is a hard link/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ typeflag: { name: 'SHA256SUMS.sealed', typeflag: '6' } })),
      /SHA256SUMS\.sealed is a FIFO/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ typeflag: { name: 'state.bin', typeflag: 'g' } })),
      /state\.bin is a PAX global header/,
    );
  });

  it('rejects a missing entry, naming it', async () => {
    await assertCorrupt(inspect(corruptArchive({ drop: ['meta.json'] })), /the archive has no meta\.json entry$/);
    await assertCorrupt(inspect(corruptArchive({ drop: ['state.bin'] })), /the archive has no state\.bin entry$/);
    await assertCorrupt(inspect(corruptArchive({ drop: ['SHA256SUMS'] })), /the archive has no SHA256SUMS entry$/);
    await assertCorrupt(
      inspect(corruptArchive({ drop: ['SHA256SUMS.sealed'] })),
      /the archive has no SHA256SUMS\.sealed entry$/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ drop: ['meta.json', 'SHA256SUMS'] })),
      /the archive has no meta\.json, SHA256SUMS entries$/,
    );
  });

  it('rejects an empty SHA256SUMS.sealed', async () => {
    await assertCorrupt(inspect(corruptArchive({ emptySealed: true })), /SHA256SUMS\.sealed is empty/);
  });

  it('rejects a meta.json larger than maxMetaBytes, from its header', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ metaPadTo: 1024 * 1024 + 1 })),
      /meta\.json is 1048577 bytes, more than the limit of 1048576/,
    );
    await assertCorrupt(
      inspect(buildSnapshotArchive(), { maxMetaBytes: 100 }),
      /meta\.json is \d+ bytes, more than the limit of 100/,
    );
    // A padded meta.json under the limit is fine.
    assert.equal((await inspect(corruptArchive({ metaPadTo: 4096 }))).meta.index, 1234);
  });

  it('rejects a meta.json that is not JSON, without quoting it', async () => {
    const err = await assertCorrupt(
      inspect(corruptArchive({ metaJson: '{"ID":"s3cr3t-value", ' })),
      /meta\.json is not valid JSON$/,
    );
    assert.ok(!err.message.includes('s3cr3t'));
  });

  it('rejects a meta.json with missing or mistyped fields, naming them', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ metaFields: { Size: undefined } })),
      /meta\.json is missing field Size$/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ metaFields: { Configuration: undefined } })),
      /meta\.json is missing field Configuration$/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ metaFields: { Term: 'two' } })),
      /meta\.json field Term is not a non-negative integer$/,
    );
  });

  it('rejects an empty, malformed or incomplete SHA256SUMS', async () => {
    await assertCorrupt(inspect(corruptArchive({ sums: '' })), /SHA256SUMS is empty/);
    await assertCorrupt(inspect(corruptArchive({ sums: 'not a checksum file\n' })), /SHA256SUMS is malformed: line 1/);
    const parts = buildSnapshotParts();
    await assertCorrupt(
      inspect(corruptArchive({ sums: `${sha256Hex(parts.metaJson)}  meta.json\n` })),
      /SHA256SUMS has no line for state\.bin/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ sums: `${sha256Hex(parts.stateBin)}  state.bin\n` })),
      /SHA256SUMS has no line for meta\.json/,
    );
    await assertCorrupt(
      inspect(buildSnapshotArchive(), { maxSumsBytes: 64 }),
      /SHA256SUMS is \d+ bytes, more than the limit of 64/,
    );
  });

  it('rejects a sum mismatch, naming the file', async () => {
    await assertCorrupt(
      inspect(corruptArchive({ flipStateBinByte: 100 })),
      /state\.bin sha256 does not match SHA256SUMS$/,
    );
    await assertCorrupt(inspect(corruptArchive({ flipMetaByte: 30 })), /meta\.json sha256 does not match SHA256SUMS$/);
    await assertCorrupt(
      inspect(corruptArchive({ sumsOverride: { 'state.bin': '0'.repeat(64) } })),
      /state\.bin sha256 does not match SHA256SUMS$/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ sumsOverride: { 'meta.json': 'f'.repeat(64) } })),
      /meta\.json sha256 does not match SHA256SUMS$/,
    );
  });

  it('rejects a meta.json Size that differs from the length of state.bin', async () => {
    const size = buildSnapshotParts().stateBin.length;
    await assertCorrupt(
      inspect(corruptArchive({ metaSize: size + 1 })),
      new RegExp(`meta\\.json Size is ${size + 1} but state\\.bin is ${size} bytes$`),
    );
  });

  it('rejects malformed state.bin records (sums and Size consistent, so only the parser objects)', async () => {
    const good = encodeStateBin(defaultRecords());
    await assertCorrupt(
      inspect(corruptArchive({ stateBin: Buffer.concat([good, Buffer.alloc(11, 0xff)]) })),
      /state\.bin record 13 .*varint is longer than 10 bytes/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ stateBin: good.subarray(0, good.length - 5) })),
      /state\.bin is truncated: record 12 starting at offset \d+ is incomplete/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ stateBin: Buffer.from([0x02, 0x08, 0x01]) })),
      /state\.bin record 1 .*field 1 \(key\) has wire type 0 \(varint\), expected 2/,
    );
    const badKey = Buffer.from([0x05, 0x0a, 0x03, 0x61, 0xc3, 0x28]);
    await assertCorrupt(
      inspect(corruptArchive({ stateBin: badKey })),
      /state\.bin record 1 .*the key is not valid UTF-8/,
    );
    await assertCorrupt(
      inspect(corruptArchive({ stateBin: encodeUvarint(64 * 1024 * 1024 + 1) })),
      /record length 67108865 exceeds the limit/,
    );
    const noKey = Buffer.concat([
      encodeRecord({ key: 'a', value: Buffer.alloc(1) }),
      Buffer.from([0x03, 0x12, 0x01, 0x00]),
    ]);
    await assertCorrupt(inspect(corruptArchive({ stateBin: noKey })), /state\.bin record 2 .*has no key field/);
  });

  it('stops reading the source at the first problem', async () => {
    let pulled = 0;
    async function* source() {
      yield Buffer.from('definitely not gzip');
      for (let i = 0; i < 1000; i++) {
        pulled++;
        yield Buffer.alloc(1024);
      }
    }
    await assertCorrupt(inspectArchive(source()), /not gzip-compressed/);
    assert.ok(pulled < 10, `pulled ${pulled} chunks after the failure`);
  });
});

describe('createArchiveInspector', () => {
  it('works with stream.pipeline', async () => {
    const { input, result } = createArchiveInspector();
    await pipeline(chunked(buildSnapshotArchive(), 100), input);
    assert.deepEqual(await result, expectedInspection());
  });

  it('never emits an error on a corrupt archive: it discards the rest and finishes', async () => {
    const { input, result } = createArchiveInspector();
    const errors: unknown[] = [];
    input.on('error', (err) => errors.push(err));
    await pipeline(chunked(corruptArchive({ extraEntries: [{ name: 'x', first: true }] }), 10), input);
    await assertCorrupt(result, /unexpected tar entry "x"/);
    assert.deepEqual(errors, []);
  });

  it('works as one branch of a tee, with backpressure from a slow branch', async () => {
    const cases = [
      { archive: buildSnapshotArchive({ gzipLevel: 0 }), expected: 'ok' },
      { archive: corruptArchive({ flipStateBinByte: 5 }, { gzipLevel: 0 }), expected: 'snapshot-corrupt' },
    ];
    for (const { archive, expected } of cases) {
      const { input, result } = createArchiveInspector();
      const received: Buffer[] = [];
      const slow = new Writable({
        highWaterMark: 64,
        write(chunk: Buffer, _enc, cb) {
          received.push(chunk);
          setTimeout(cb, 0);
        },
      });
      const tee = new PassThrough({ highWaterMark: 64 });
      tee.pipe(input);
      tee.pipe(slow);
      const done = Promise.all([new Promise((r) => input.on('finish', r)), new Promise((r) => slow.on('finish', r))]);
      await pipeline(chunked(archive, 256), tee);
      await done;
      assert.deepEqual(Buffer.concat(received), archive);
      const settled = await result.then(
        () => 'ok',
        (err: VaultOpsError) => err.code,
      );
      assert.equal(settled, expected);
    }
  });

  it('finishes its input only after the result has settled', async () => {
    const { input, result } = createArchiveInspector();
    let settled = false;
    void result.then(() => (settled = true));
    input.end(buildSnapshotArchive());
    await new Promise((r) => input.on('finish', r));
    await Promise.resolve();
    assert.ok(settled);
  });

  it('applies backpressure: write() returns false once the buffer is full', () => {
    const { input } = createArchiveInspector();
    const archive = buildSnapshotArchive({
      gzipLevel: 0,
      entries: [{ key: 'core/big', value: Buffer.alloc(100_000) }],
    });
    let ok = true;
    for (let i = 0; i < archive.length && ok; i += 1024) ok = input.write(archive.subarray(i, i + 1024));
    assert.equal(ok, false);
    input.destroy();
  });

  it('rejects with an aborted error when the signal fires, even before any input', async () => {
    const controller = new AbortController();
    const { input, result } = createArchiveInspector({ signal: controller.signal });
    input.write(buildSnapshotArchive().subarray(0, 100));
    controller.abort();
    await assert.rejects(result, (err: unknown) => err instanceof VaultOpsError && err.code === 'aborted');
    const early = createArchiveInspector({ signal: AbortSignal.abort() });
    await assert.rejects(early.result, (err: unknown) => err instanceof VaultOpsError && err.code === 'aborted');
    input.end();
  });

  it('inspectArchive honours the signal', async () => {
    const controller = new AbortController();
    async function* source() {
      const archive = buildSnapshotArchive({ gzipLevel: 0 });
      yield archive.subarray(0, 100);
      controller.abort();
      yield archive.subarray(100);
    }
    await assert.rejects(
      inspectArchive(source(), { signal: controller.signal }),
      (err: unknown) => err instanceof VaultOpsError && err.code === 'aborted',
    );
  });

  it('rejects when the input is destroyed before the end', async () => {
    const { input, result } = createArchiveInspector();
    input.write(buildSnapshotArchive().subarray(0, 100));
    input.destroy();
    await assert.rejects(result, (err: unknown) => err instanceof VaultOpsError && err.code === 'aborted');

    const failing = createArchiveInspector();
    const boom = new Error('network down');
    failing.input.on('error', () => {});
    failing.input.destroy(boom);
    await assert.rejects(failing.result, (err: unknown) => err === boom);
  });

  it('rejects when the source fails, with the source error', async () => {
    const boom = new Error('socket hang up');
    async function* source() {
      yield buildSnapshotArchive().subarray(0, 50);
      throw boom;
    }
    await assert.rejects(inspectArchive(source()), (err: unknown) => err === boom);
  });

  it('does not leave an unhandled rejection when nobody awaits the result', async () => {
    const { input } = createArchiveInspector();
    input.end(Buffer.from('not gzip'));
    await new Promise((r) => setTimeout(r, 20));
    // An unhandled rejection would fail the test run.
  });

  it('throws on bad options instead of reporting a corrupt archive', () => {
    assert.throws(() => createArchiveInspector({ depth: 0 }), RangeError);
  });

  it('exposes tarFile/TAR_END fixtures consistent with the inspector', async () => {
    // A minimal archive assembled by hand from fixture pieces.
    const parts = buildSnapshotParts();
    const tar = Buffer.concat([
      tarFile('meta.json', parts.metaJson),
      tarFile('state.bin', parts.stateBin),
      tarFile('SHA256SUMS', parts.sums),
      tarFile('SHA256SUMS.sealed', parts.sealed),
      TAR_END,
    ]);
    assert.deepEqual(await inspect(gzipSync(tar)), expectedInspection());
  });
});
