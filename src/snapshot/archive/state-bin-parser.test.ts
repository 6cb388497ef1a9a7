import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../../errors.js';
import { StateBinParser } from './state-bin-parser.js';
import {
  encodeRecord,
  encodeStateBin,
  encodeUvarint,
  defaultRecords,
} from '../../../test/fixtures/snapshot-archive.js';

function parse(
  bytes: Uint8Array,
  options: { chunk?: number; maxRecordBytes?: number } = {},
): { keys: string[]; parser: StateBinParser } {
  const keys: string[] = [];
  const parser = new StateBinParser({
    onKey: (k) => keys.push(k),
    ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}),
  });
  const size = options.chunk ?? bytes.length;
  for (let i = 0; i < bytes.length; i += size) parser.push(bytes.subarray(i, i + size));
  parser.finish();
  return { keys, parser };
}

/** A record from raw message bytes. */
function raw(...message: Array<number | Buffer>): Buffer {
  const body = Buffer.concat(message.map((m) => (typeof m === 'number' ? Buffer.from([m]) : m)));
  return Buffer.concat([encodeUvarint(body.length), body]);
}

function keyField(key: string | Buffer): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  return Buffer.concat([Buffer.from([0x0a]), encodeUvarint(bytes.length), bytes]);
}

function assertMalformed(
  bytes: Uint8Array,
  pattern: RegExp,
  options: { chunk?: number; maxRecordBytes?: number } = {},
): void {
  assert.throws(
    () => parse(bytes, options),
    (err: unknown) => {
      assert.ok(err instanceof VaultOpsError);
      assert.equal(err.code, 'snapshot-corrupt');
      assert.match(err.message, /^snapshot archive is corrupt: state\.bin /);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
}

describe('StateBinParser', () => {
  const records = defaultRecords();
  const stateBin = encodeStateBin(records);
  const expectedKeys = records.map((r) => r.key);

  it('reads every key of a well-formed state.bin', () => {
    const { keys, parser } = parse(stateBin);
    assert.deepEqual(keys, expectedKeys);
    assert.equal(parser.recordCount, records.length);
    assert.equal(parser.bytes, stateBin.length);
  });

  it('handles records, fields and varints straddling chunk boundaries (1-byte chunks)', () => {
    assert.deepEqual(parse(stateBin, { chunk: 1 }).keys, expectedKeys);
  });

  it('gives the same keys for every split of the input into two chunks', () => {
    for (let cut = 0; cut <= stateBin.length; cut++) {
      const keys: string[] = [];
      const parser = new StateBinParser({ onKey: (k) => keys.push(k) });
      parser.push(stateBin.subarray(0, cut));
      parser.push(stateBin.subarray(cut));
      parser.finish();
      assert.deepEqual(keys, expectedKeys, `cut at ${cut}`);
    }
  });

  it('accepts an empty state.bin', () => {
    assert.deepEqual(parse(Buffer.alloc(0)).keys, []);
  });

  it('reads multi-byte lengths (values of 300 bytes and 70 KiB)', () => {
    const bytes = encodeStateBin([
      { key: 'a/b', value: Buffer.alloc(300, 1) },
      { key: 'c', value: Buffer.alloc(70 * 1024, 2), sealWrap: true },
    ]);
    assert.deepEqual(parse(bytes, { chunk: 1000 }).keys, ['a/b', 'c']);
  });

  it('reads UTF-8 keys split inside a multi-byte character', () => {
    const bytes = encodeRecord({ key: 'logical/ünïcødé/€', value: Buffer.from('v') });
    assert.deepEqual(parse(bytes, { chunk: 1 }).keys, ['logical/ünïcødé/€']);
  });

  it('skips unknown fields of every valid wire type, in any order', () => {
    const bytes = raw(
      0x20,
      0x96,
      0x01, // field 4 varint 150
      0x29,
      Buffer.alloc(8, 0xff), // field 5 fixed64
      0x35,
      Buffer.alloc(4, 0xff), // field 6 fixed32
      0x3a,
      0x02,
      0x00,
      0x01, // field 7 length-delimited
      0x12,
      0x01,
      0x09, // value
      keyField('core/x'),
      0x18,
      0x01, // seal_wrap
      0x80,
      0x80,
      0x04,
      0x00, // field 65536 varint 0
    );
    assert.deepEqual(parse(bytes, { chunk: 1 }).keys, ['core/x']);
  });

  it('keeps the last key when the key field repeats (protobuf semantics)', () => {
    assert.deepEqual(parse(raw(keyField('first'), keyField('second'))).keys, ['second']);
  });

  it('accepts an empty key and non-minimal varints', () => {
    assert.deepEqual(parse(raw(0x0a, 0x80, 0x00)).keys, ['']);
  });

  it('rejects a varint longer than 10 bytes', () => {
    assertMalformed(Buffer.alloc(11, 0xff), /varint is longer than 10 bytes/);
  });

  it('rejects a record length beyond the limit', () => {
    assertMalformed(encodeUvarint(64 * 1024 * 1024 + 1), /record length 67108865 exceeds the limit of 67108864 bytes/);
    assertMalformed(encodeRecord({ key: 'k', value: Buffer.alloc(100) }), /exceeds the limit of 50 bytes/, {
      maxRecordBytes: 50,
    });
  });

  it('rejects a truncated record, naming where it started', () => {
    const bytes = Buffer.concat([
      encodeRecord({ key: 'a', value: Buffer.alloc(3) }),
      encodeRecord({ key: 'bb', value: Buffer.alloc(10) }),
    ]);
    assertMalformed(
      bytes.subarray(0, bytes.length - 4),
      /state\.bin is truncated: record 2 starting at offset 9 is incomplete/,
    );
    assertMalformed(Buffer.from([0x80]), /truncated: record 1 starting at offset 0/);
  });

  it('rejects a key field with the wrong wire type', () => {
    assertMalformed(raw(0x08, 0x01), /field 1 \(key\) has wire type 0 \(varint\), expected 2 \(length-delimited\)/);
  });

  it('rejects value and seal_wrap fields with the wrong wire type', () => {
    assertMalformed(raw(keyField('k'), 0x10, 0x01), /field 2 \(value\) has wire type 0/);
    assertMalformed(raw(keyField('k'), 0x1a, 0x00), /field 3 \(seal_wrap\) has wire type 2/);
  });

  it('rejects invalid wire types and field number 0', () => {
    assertMalformed(raw(keyField('k'), 0x23), /invalid wire type 3 \(start-group\)/);
    assertMalformed(raw(keyField('k'), 0x24), /invalid wire type 4/);
    assertMalformed(raw(keyField('k'), 0x26), /invalid wire type 6/);
    assertMalformed(raw(keyField('k'), 0x27), /invalid wire type 7/);
    assertMalformed(raw(keyField('k'), 0x02, 0x00), /invalid field number 0/);
  });

  it('rejects fields that run past the end of their record', () => {
    assertMalformed(raw(0x0a, 0x05, 0x61), /key field of 5 bytes runs past the end of the record/);
    assertMalformed(raw(keyField('k'), 0x18, 0x80), /varint field runs past the end of the record/);
    assertMalformed(raw(keyField('k'), 0x80), /field tag runs past the end of the record/);
    assertMalformed(raw(keyField('k'), 0x12, 0x80), /field length runs past the end of the record/);
    assertMalformed(raw(keyField('k'), 0x29, 0x00), /fixed64 field runs past the end of the record/);
  });

  it('rejects a record without a key, including an empty record', () => {
    assertMalformed(raw(0x12, 0x01, 0x00), /record 1 .*has no key field/);
    assertMalformed(
      Buffer.concat([encodeRecord({ key: 'a', value: Buffer.alloc(0) }), Buffer.from([0x00])]),
      /record 2 \(starting at offset 6\).*has no key field/,
    );
  });

  it('rejects a key that is not UTF-8, without quoting it', () => {
    const key = Buffer.concat([Buffer.from('SECRETKEY'), Buffer.from([0xff, 0xfe])]);
    assertMalformed(raw(keyField(key)), /the key is not valid UTF-8/);
    assert.throws(
      () => parse(raw(keyField(key))),
      (err: Error) => !err.message.includes('SECRETKEY'),
    );
  });
});
