import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { VaultOpsError } from '../errors.js';
import { writeReportFile } from './output-file.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-report-file-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('writeReportFile', () => {
  test('writes mode 0644 whatever the umask, replaces an existing page whole, leaves no temp file', async () => {
    const path = join(dir, 'report.html');
    const umask = process.umask(0o077);
    try {
      assert.deepEqual(await writeReportFile(path, '<p>é</p>'), { bytes: 9 });
    } finally {
      process.umask(umask);
    }
    assert.equal((await stat(path)).mode & 0o777, 0o644);
    await writeFile(path, 'old page');
    const before = (await stat(path)).ino;
    await writeReportFile(path, 'new page');
    assert.equal(await readFile(path, 'utf8'), 'new page');
    assert.notEqual((await stat(path)).ino, before, 'a new file renamed into place, not the old one rewritten');
    assert.deepEqual(await readdir(dir), ['report.html']);
  });

  test('a directory or a missing folder is refused with a message naming the path; nothing is left', async () => {
    await mkdir(join(dir, 'site'));
    await assert.rejects(
      writeReportFile(join(dir, 'site'), 'x'),
      (e: VaultOpsError) => e.code === 'usage' && /site is a directory: name the HTML file/.test(e.message),
    );
    await assert.rejects(
      writeReportFile(join(dir, 'missing', 'r.html'), 'x'),
      (e: VaultOpsError) =>
        e.code === 'not-found' && /could not write the report to .*missing\/r\.html \(ENOENT\)/.test(e.message),
    );
    assert.deepEqual((await readdir(dir)).sort(), ['report.html', 'site']);
    assert.deepEqual(await readdir(join(dir, 'site')), []);
  });
});
