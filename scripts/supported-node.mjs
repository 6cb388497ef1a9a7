// A Node the CLI supports (engines: >=22.12): this one, or else the Node 24 that
// test/testbed/build.sh fetches from the npm registry (target `node`, cached in ~/.cache/vault-ops).
// The test runner re-runs itself on it and the demo runs the CLI with it, so that the README's two
// commands work on a machine whose own Node is older (Node 20, end of life, is common).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** True when `version` (x.y.z) meets engines' >=22.12. */
export function isSupported(version) {
  const [major, minor] = version.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

/** The path of a supported node binary; fetches Node 24 once when this Node is older. `who` names the caller. */
export function supportedNode(who) {
  if (isSupported(process.versions.node)) return process.execPath;
  const cache = process.env.VAULT_OPS_CACHE ?? join(homedir(), '.cache', 'vault-ops');
  const version = readFileSync(join(root, 'test', 'testbed', 'build.sh'), 'utf8').match(/^NODE_VERSION=(\S+)$/m)?.[1];
  const node = join(cache, `node-${version}`, 'bin', 'node');
  console.log(`${who}: Node ${process.versions.node} is unsupported (engines: >=22.12); using Node ${version}`);
  if (!existsSync(node)) {
    const built = spawnSync('bash', [join(root, 'test', 'testbed', 'build.sh'), 'node'], { stdio: 'inherit' });
    if (built.status !== 0) {
      console.error(`${who}: fetching Node failed (see above): install Node 24 LTS, or Node 22.12 or later`);
      process.exit(1);
    }
  }
  return node;
}
