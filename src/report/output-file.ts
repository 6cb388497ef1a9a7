import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { VaultOpsError } from '../errors.js';

/**
 * Write the report to `path` atomically: a temp file beside it (same file system), fsynced, mode
 * 0644 whatever the umask (the page holds no secret and is meant to be published), then renamed
 * over the target. A reader — a web server publishing the page, an auditor's browser — sees the
 * old page or the new one, never half of one; an existing page is replaced, as a scheduled
 * regeneration needs. On any failure the temp file is removed and the old page stays.
 */
export async function writeReportFile(path: string, content: string): Promise<{ bytes: number }> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new VaultOpsError(
      'usage',
      `--out ${path} is a directory: name the HTML file to write, e.g. ${join(path, 'report.html')}`,
    );
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const body = Buffer.from(content, 'utf8');
  try {
    const file = await open(temp, 'wx', 0o644);
    try {
      await file.writeFile(body);
      await file.sync();
    } finally {
      await file.close();
    }
    await chmod(temp, 0o644);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    const e = err as NodeJS.ErrnoException;
    // Exit 1 either way: a missing folder is named as such, anything else (EACCES, ENOSPC) by its code.
    throw new VaultOpsError(
      e.code === 'ENOENT' ? 'not-found' : 'internal',
      `could not write the report to ${path} (${e.code ?? e.message}): check that its folder exists and is writable`,
      { cause: err },
    );
  }
  return { bytes: body.length };
}
