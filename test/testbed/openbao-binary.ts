import { execFileSync } from 'node:child_process';
import { findBinary } from './cached-binary.js';

/** Keep in step with test/testbed/build.sh. */
export const OPENBAO_VERSION = '2.4.0';

/**
 * The server binary the testbed runs: VAULT_OPS_TEST_BINARY, else the cached OpenBao build, else
 * `bao` or `vault` on PATH. Throws (never skips) when there is none.
 */
export function vaultBinary(): string {
  return findBinary({ envVar: 'VAULT_OPS_TEST_BINARY', cacheDir: `openbao-${OPENBAO_VERSION}`, file: 'bao', pathNames: ['bao', 'vault'], buildTarget: 'openbao' });
}

export function binaryVersion(binary: string): string {
  return execFileSync(binary, ['version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? 'unknown';
}
