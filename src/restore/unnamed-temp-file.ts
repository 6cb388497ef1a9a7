import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream, type WriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A temp file reached only through this object; see openUnnamedTempFile. */
export interface UnnamedTempFile {
  /** Writes from the start of the file; the file stays open when the stream ends. */
  createWriteStream(): WriteStream;
  /** Reads the file from its start. */
  createReadStream(): ReadStream;
  /** Frees the file (the kernel does too when the process ends). */
  close(): Promise<void>;
}

/**
 * A temp file without a name: created owner-only and exclusive, then unlinked at once, so that only
 * this process's open descriptor reaches it. The kernel frees it when the process ends, however it
 * ends: a SIGKILLed or OOM-killed restore leaves no plaintext snapshot in the temp folder, where a
 * named file would lie until someone noticed.
 */
export async function openUnnamedTempFile(folder: string, prefix: string): Promise<UnnamedTempFile> {
  const path = join(folder, `${prefix}${randomBytes(8).toString('hex')}`);
  const handle = await open(path, 'wx+', 0o600);
  try {
    await unlink(path);
  } catch (err) {
    await handle.close();
    throw err;
  }
  // Streams on the bare descriptor, not on the FileHandle: a FileHandle stream that leaves the
  // handle open (autoClose: false) keeps a reference that makes handle.close() wait forever.
  return {
    createWriteStream: () => createWriteStream('', { fd: handle.fd, start: 0, autoClose: false }),
    createReadStream: () => createReadStream('', { fd: handle.fd, start: 0, autoClose: false }),
    close: () => handle.close(),
  };
}
