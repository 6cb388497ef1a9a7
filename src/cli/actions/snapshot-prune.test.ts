import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderPrune } from './snapshot-prune.js';

test('the prune plan is one table: ids line up whatever the action, then the counts', () => {
  const lines = renderPrune({
    dryRun: true,
    keep: [
      { id: '20261129T093125Z-696a1d', createdAt: '', reasons: ['last'] },
      { id: '20261129T093052Z-9b284a', createdAt: '', reasons: ['last', 'daily'] },
    ],
    remove: [
      { id: '20261129T092934Z-d26b72', createdAt: '', keys: [], status: 'planned' },
      { id: '20261128T092934Z-aaaaaa', createdAt: '', keys: [], status: 'locked', detail: 'retained until 2027' },
    ],
    incomplete: [],
    setApart: [],
    warnings: [],
  });
  assert.deepEqual(lines, [
    'Prune plan (dry run, nothing deleted):',
    '  keep    20261129T093125Z-696a1d  last',
    '  keep    20261129T093052Z-9b284a  last,daily',
    '  remove  20261129T092934Z-d26b72',
    '  locked  20261128T092934Z-aaaaaa  retained until 2027',
    '  2 kept, 1 to remove, 1 locked',
  ]);
});
