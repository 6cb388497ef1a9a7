import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VaultOpsError } from '../errors.js';
import { writeFileAtomically } from '../observability/atomic-file.js';

/**
 * Write the report to `path` atomically (writeFileAtomically), mode 0644 (the page holds no secret
 * and is meant to be published). A reader (a web server publishing the page, an auditor's browser)
 * sees the old page or the new one, never half of one; an existing page is replaced, as a scheduled
 * regeneration needs. On any failure the old page stays.
 */
export async function writeReportFile(path: string, content: string): Promise<{ bytes: number }> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new VaultOpsError(
      'usage',
      `--out ${path} is a directory: name the HTML file to write, e.g. ${join(path, 'report.html')}`,
    );
  }
  const body = Buffer.from(content, 'utf8');
  try {
    await writeFileAtomically(path, body, 0o644);
  } catch (err) {
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
