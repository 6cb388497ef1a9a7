import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { escapeControl, printLines, table } from './output.js';

test('strings from a store cannot redraw the terminal: control characters and overrides are escaped', () => {
  const name = 'prod\r20261201T000000Z-abcdef  signed  verified\u001b[2K\u202e';
  assert.equal(escapeControl(name), 'prod\\u{d}20261201T000000Z-abcdef  signed  verified\\u{1b}[2K\\u{202e}');
  const [row] = table([['a\nb', 'c\td']]);
  assert.equal(row, 'a\\u{a}b  c\\u{9}d', 'a table cell stays on its line');
  const out = new PassThrough();
  let written = '';
  out.on('data', (c: Buffer) => (written += c.toString()));
  printLines(out, ['one\ntwo\u0007']);
  assert.equal(written, 'one\ntwo\\u{7}\n', 'lines we wrote keep their newlines');
});
