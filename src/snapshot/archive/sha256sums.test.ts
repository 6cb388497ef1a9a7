import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VaultOpsError } from '../../errors.js';
import { parseSha256Sums } from './sha256sums.js';

const a = 'a'.repeat(64);
const b = '0123456789abcdef'.repeat(4);
const names = ['meta.json', 'state.bin'] as const;

function assertBad(text: string | Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseSha256Sums(typeof text === 'string' ? Buffer.from(text) : text, names),
    (err: unknown) => err instanceof VaultOpsError && err.code === 'snapshot-corrupt' && pattern.test(err.message),
  );
}

describe('parseSha256Sums', () => {
  it('reads the two lines in either order', () => {
    assert.deepEqual(parseSha256Sums(Buffer.from(`${a}  meta.json\n${b}  state.bin\n`), names), {
      'meta.json': a,
      'state.bin': b,
    });
    assert.deepEqual(parseSha256Sums(Buffer.from(`${b}  state.bin\n${a}  meta.json\n`), names), {
      'meta.json': a,
      'state.bin': b,
    });
  });

  it('lowercases uppercase hex', () => {
    assert.equal(
      parseSha256Sums(Buffer.from(`${b.toUpperCase()}  state.bin\n${a}  meta.json\n`), names)['state.bin'],
      b,
    );
  });

  it('rejects an empty file', () => assertBad('', /SHA256SUMS is empty/));

  it('rejects malformed lines, naming the line', () => {
    assertBad(
      `${a}  meta.json\n${b} state.bin\n`,
      /SHA256SUMS is malformed: line 2 is not "<sha256 hex> {2}<file name>"/,
    );
    assertBad(`${a.slice(1)}  meta.json\n${b}  state.bin\n`, /malformed: line 1/);
    assertBad(`${a}  meta.json\n\n${b}  state.bin\n`, /malformed: line 2/);
    assertBad(`${a}  meta.json\r\n${b}  state.bin\r\n`, /malformed: line 1/);
    assertBad(`${a} *meta.json\n${b}  state.bin\n`, /malformed: line 1/);
    assertBad(`${a}  meta.json\n${b}  state.bin`, /last line does not end with a newline/);
    assertBad(Buffer.from([0xff, 0x0a]), /not UTF-8/);
  });

  it('rejects a missing line', () => {
    assertBad(`${a}  meta.json\n`, /SHA256SUMS has no line for state\.bin/);
    assertBad(`${b}  state.bin\n`, /SHA256SUMS has no line for meta\.json/);
  });

  it('rejects duplicate and unexpected names', () => {
    assertBad(`${a}  meta.json\n${a}  meta.json\n${b}  state.bin\n`, /lists meta\.json more than once/);
    assertBad(`${a}  meta.json\n${b}  state.bin\n${b}  other.bin\n`, /lists an unexpected file "other\.bin" on line 3/);
  });
});
