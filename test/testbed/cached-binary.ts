import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `command -v name`, or undefined. */
export function onPath(name: string): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A server binary the testbed runs: `$envVar` when set, else the build cached by
 * test/testbed/build.sh (~/.cache/vault-ops/<cacheDir>/<file>), else the first of `pathNames` on
 * PATH. Throws (never skips) when there is none, saying how to build it.
 */
export function findBinary(spec: {
  envVar: string;
  cacheDir: string;
  file: string;
  pathNames: string[];
  buildTarget: string;
}): string {
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`testbed: ${spec.envVar}=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cache = process.env.VAULT_OPS_CACHE ?? join(homedir(), '.cache', 'vault-ops');
  const cached = join(cache, spec.cacheDir, spec.file);
  if (existsSync(cached)) return cached;
  for (const name of spec.pathNames) {
    const found = onPath(name);
    if (found) return found;
  }
  throw new Error(
    `testbed: no ${spec.file} binary: run \`bash test/testbed/build.sh ${spec.buildTarget}\` (or set ` +
      `${spec.envVar}); looked at ${cached} and PATH`,
  );
}
