import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { findBinary } from '../testbed/cached-binary.js';

const run = promisify(execFile);

/** Keep in step with test/testbed/build.sh. */
export const HELM_VERSION = '3.21.4';
export const CHART = join(fileURLToPath(new URL('../..', import.meta.url)), 'charts', 'vault-ops');

/** VAULT_OPS_HELM_BINARY, else the build.sh cache, else helm on PATH; throws (never skips) when none. */
export function helmBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_HELM_BINARY',
    cacheDir: `helm-${HELM_VERSION}`,
    file: 'helm',
    pathNames: ['helm'],
    buildTarget: 'helm',
  });
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run helm with nothing of the developer's environment but PATH: HOME (its cache and config) is
 * `home`, and with `kubeconfig` it talks to that cluster only.
 */
export async function helm(args: string[], options: { home: string; kubeconfig?: string }): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), args, {
      maxBuffer: 32 * 1024 * 1024,
      env: {
        PATH: process.env.PATH,
        HOME: options.home,
        ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
      },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
