import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestServerName } from './servers.js';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('./build.sh', import.meta.url));

export interface TestbedImages {
  /** The chart's image for the server flavour (its drill binary is that flavour's), as a registry name. */
  name: string;
  /** docker-archive of that image. */
  archive: string;
  pause: string;
  pauseArchive: string;
}

/**
 * The chart's image built from the Dockerfile (image.sh through build.sh `image`): built when the
 * sources changed since the cached one, else found in the cache at once. Throws with the build's
 * output when it fails (never skips).
 */
export async function testbedImages(flavour: TestServerName): Promise<TestbedImages> {
  let out: string;
  try {
    out = (
      await run('bash', [BUILD, 'image'], {
        env: { ...process.env, VAULT_OPS_IMAGE_FLAVOURS: flavour },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30 * 60_000,
      })
    ).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`testbed: building the image failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const dir = /^image-dir (\S+) (.+)$/m.exec(out)?.[2];
  if (!dir) throw new Error(`testbed: build.sh image named no image directory for ${flavour}:\n${out}`);
  const names = Object.fromEntries(
    (await readFile(join(dir, 'names.env'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('=', 2) as [string, string]),
  );
  if (!names.IMAGE || !names.PAUSE) throw new Error(`testbed: ${dir}/names.env names no image`);
  return {
    name: names.IMAGE,
    archive: join(dir, 'vault-ops.tar'),
    pause: names.PAUSE,
    pauseArchive: join(dir, 'pause.tar'),
  };
}
