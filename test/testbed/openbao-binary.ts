import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Keep in step with test/testbed/build.sh. */
export const OPENBAO_VERSION = '2.4.0';

function onPath(name: string): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server binary the testbed runs: VAULT_OPS_TEST_BINARY, else the cached OpenBao build, else
 * `bao` or `vault` on PATH. Throws (never skips) when there is none.
 */
export function vaultBinary(): string {
  const fromEnv = process.env.VAULT_OPS_TEST_BINARY;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`testbed: VAULT_OPS_TEST_BINARY=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cache = process.env.VAULT_OPS_CACHE ?? join(homedir(), '.cache', 'vault-ops');
  const cached = join(cache, `openbao-${OPENBAO_VERSION}`, 'bao');
  if (existsSync(cached)) return cached;
  const found = onPath('bao') ?? onPath('vault');
  if (found) return found;
  throw new Error('testbed: no OpenBao/Vault binary: run `bash test/testbed/build.sh openbao` (or set VAULT_OPS_TEST_BINARY)');
}

export function binaryVersion(binary: string): string {
  return execFileSync(binary, ['version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? 'unknown';
}
