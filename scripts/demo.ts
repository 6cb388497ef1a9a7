/**
 * `npm run demo`: the main job on one machine. Starts a local OpenBao from the testbed (or uses
 * VAULT_ADDR/VAULT_TOKEN when set), then runs vault-ops against it as a user would, through the
 * built CLI. Grows with the project: status now; snapshot save → inspect → verify as they land.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'bin', 'vault-ops.js');

function vaultOps(args: string[], env: NodeJS.ProcessEnv): number {
  console.log(`\n$ vault-ops ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', env });
  return r.status ?? 1;
}

async function main(): Promise<number> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  let env: NodeJS.ProcessEnv = { ...process.env };
  let stop = async () => {};
  if (!process.env.VAULT_ADDR) {
    const { vaultBinary } = await import('../test/testbed/openbao-binary.js');
    try {
      vaultBinary();
    } catch {
      console.log('No OpenBao binary yet: building it from its Go module (a few minutes, once)…');
      execFileSync('bash', [join(root, 'test/testbed/build.sh'), 'openbao'], { stdio: 'inherit' });
    }
    const { startVault } = await import('../test/testbed/vault.js');
    console.log('Starting a local OpenBao (Raft storage, 1 unseal key) on 127.0.0.1…');
    const vault = await startVault();
    console.log(`${vault.version} at ${vault.addr}`);
    env = { ...env, VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
    stop = () => vault.stop();
  }
  try {
    return vaultOps(['status'], env);
  } finally {
    await stop();
  }
}

process.exitCode = await main();
