import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replace `path` atomically: a hidden temp file beside it (same file system), fsynced, given `mode`
 * whatever the umask, then renamed over the target. A reader (node-exporter's textfile collector,
 * a web server publishing the report) sees the old file or the new one, never half of one. On any
 * failure the temp file is removed, the old file stays, and the error is thrown as it came.
 */
export async function writeFileAtomically(path: string, content: string | Buffer, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temp, 'wx', mode);
    try {
      await file.writeFile(content);
      await file.sync();
    } finally {
      await file.close();
    }
    await chmod(temp, mode);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
