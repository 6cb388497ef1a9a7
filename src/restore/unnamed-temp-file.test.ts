import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openUnnamedTempFile } from './unnamed-temp-file.js';

test('an unnamed temp file is written and read back through its handle, and has no name in the folder', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'vault-ops-unnamed-test-'));
  try {
    const file = await openUnnamedTempFile(folder, 'x-');
    assert.deepEqual(await readdir(folder), []);
    await pipeline(Readable.from([Buffer.from('plaintext '), Buffer.from('archive')]), file.createWriteStream());
    const chunks: Buffer[] = [];
    for await (const c of file.createReadStream()) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'plaintext archive', 'read back after the write stream ended');
    await file.close();
    assert.deepEqual(await readdir(folder), []);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('a process SIGKILLed while holding one leaves nothing behind', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'vault-ops-unnamed-test-'));
  const module = fileURLToPath(new URL('./unnamed-temp-file.ts', import.meta.url));
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { openUnnamedTempFile } = await import(${JSON.stringify(module)});
         const f = await openUnnamedTempFile(${JSON.stringify(folder)}, 'restore-');
         f.createWriteStream().write(Buffer.alloc(1 << 20, 7));
         process.stdout.write('holding\\n');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c) => String(c).includes('holding') && resolve());
      child.on('exit', (code) => reject(new Error(`the child exited early (${code})`)));
    });
    // While it holds the file: only its handle reaches it, as a deleted file.
    const fds = await readdir(`/proc/${child.pid}/fd`);
    const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => '')));
    assert.ok(
      targets.some((t) => t.startsWith(join(folder, 'restore-')) && t.endsWith('(deleted)')),
      targets.join('\n'),
    );
    assert.deepEqual(await readdir(folder), []);
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    assert.deepEqual(await readdir(folder), []);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
