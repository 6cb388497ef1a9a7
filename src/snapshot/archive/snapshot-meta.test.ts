import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../../errors.js';
import { parseSnapshotMeta, suffrageName } from './snapshot-meta.js';
import { metaFields } from '../../../test/fixtures/snapshot-archive.js';

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

function assertBad(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseSnapshotMeta(bytes),
    (err: unknown) => {
      assert.ok(err instanceof VaultOpsError);
      assert.equal(err.code, 'snapshot-corrupt');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('parseSnapshotMeta', () => {
  it('maps raft.SnapshotMeta to SnapshotMeta', () => {
    assert.deepEqual(parseSnapshotMeta(json({ ...metaFields(4567), Extra: true })), {
      version: 1,
      id: '2-1234-1700000000000',
      index: 1234,
      term: 2,
      configurationIndex: 1,
      size: 4567,
      servers: [
        { id: 'node1', address: '127.0.0.1:8201', suffrage: 'voter' },
        { id: 'node2', address: '127.0.0.2:8201', suffrage: 'nonvoter' },
        { id: 'node3', address: '127.0.0.3:8201', suffrage: 'staging' },
      ],
    });
  });

  it('accepts null Servers and Peers (Go nil slices)', () => {
    const meta = parseSnapshotMeta(json({ ...metaFields(0), Peers: null, Configuration: { Servers: null } }));
    assert.deepEqual(meta.servers, []);
  });

  it('names unknown suffrage values', () => {
    assert.equal(suffrageName(7), 'unknown(7)');
  });

  it('rejects bytes that are not JSON, without quoting them', () => {
    assertBad(Buffer.from('{"ID":"s3cr3t-value"'), /^snapshot archive is corrupt: meta\.json is not valid JSON$/);
    assertBad(Buffer.from([0x7b, 0xff, 0x7d]), /meta\.json is not valid JSON/);
    assertBad(Buffer.from(''), /meta\.json is not valid JSON/);
  });

  it('rejects JSON that is not an object', () => {
    assertBad(json([1, 2]), /meta\.json is not a JSON object/);
    assertBad(json(null), /meta\.json is not a JSON object/);
  });

  it('rejects missing fields, naming them', () => {
    for (const field of ['Version', 'ID', 'Index', 'Term', 'Configuration', 'ConfigurationIndex', 'Size'] as const) {
      const fields: Record<string, unknown> = { ...metaFields(1) };
      delete fields[field];
      assertBad(json(fields), new RegExp(`meta\\.json is missing field ${field}$`));
    }
    const fields = metaFields(1);
    assertBad(json({ ...fields, Configuration: {} }), /missing field Configuration\.Servers$/);
    assertBad(
      json({ ...fields, Configuration: { Servers: [{ ID: 'n', Address: 'a' }] } }),
      /missing field Configuration\.Servers\[0\]\.Suffrage$/,
    );
  });

  it('rejects fields of the wrong type, without quoting their values', () => {
    assertBad(
      json({ ...metaFields(1), Size: '12' }),
      /^snapshot archive is corrupt: meta\.json field Size is not a non-negative integer$/,
    );
    assertBad(json({ ...metaFields(1), Index: -1 }), /field Index is not a non-negative integer/);
    assertBad(json({ ...metaFields(1), Term: 1.5 }), /field Term is not a non-negative integer/);
    assertBad(json({ ...metaFields(1), Index: 2 ** 60 }), /field Index is not a non-negative integer/);
    assertBad(json({ ...metaFields(1), ID: 42 }), /field ID is not a string/);
    assertBad(
      json({ ...metaFields(1), Configuration: { Servers: [{ Suffrage: 'Voter', ID: 'n', Address: 'a' }] } }),
      /field Configuration\.Servers\[0\]\.Suffrage is not a non-negative integer/,
    );
    assertBad(
      json({ ...metaFields(1), Configuration: { Servers: 'x' } }),
      /field Configuration\.Servers is not an array or null/,
    );
  });
});
