import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { columnWidths, escapeControl, printLines, table, tableRow } from './output.js';

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

test('rows printed as they come, with widths known up front, are the rows of the whole table', () => {
  const rows = [
    ['ID', 'CLUSTER', 'DRILL'],
    ['20261127T184600Z-3f9a1c', 'prod\u001b[2J', 'verified'],
    ['20261127T184500Z-000001', '-', 'never drilled at all'],
  ];
  const widths = columnWidths(rows);
  assert.deepEqual(
    rows.map((r) => tableRow(r, widths)),
    table(rows),
  );
  assert.deepEqual(
    rows.map((r) => tableRow(r, widths, '  ')),
    table(rows, '  '),
  );
  assert.equal(widths[1], 'prod\\u{1b}[2J'.length, 'widths are of the escaped cells');
});
