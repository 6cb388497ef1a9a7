/**
 * `npm run demo [-- --server openbao|vault]`: the main job on one machine. Starts a local OpenBao
 * (default, the faster build) or HashiCorp Vault from the testbed (or uses VAULT_ADDR/VAULT_TOKEN
 * when set), seeds a few secrets, then runs vault-ops as a user would,
 * through the built CLI: status → snapshot save --canary into ./backups (the folder store) →
 * snapshot inspect → verify (a restore drill in a scratch server, its result recorded beside the
 * snapshot) → snapshot list (now "verified") → report (the auditor's page, ./backups-report.html).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supportedNode } from './supported-node.mjs';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'bin', 'vault-ops.js');
const backups = join(process.cwd(), 'backups');
/** The CLI needs Node 22.12 or later: on an older machine Node, the demo runs it on the Node 24 CI fetches. */
const node: string = supportedNode('demo');

function vaultOps(args: string[], env: NodeJS.ProcessEnv): number {
  console.log(`\n$ vault-ops ${args.join(' ')}`);
  const r = spawnSync(node, [cli, ...args], { stdio: 'inherit', env });
  return r.status ?? 1;
}

/** `--server vault|openbao` (or `--server=…`); default openbao. */
function serverArgument(): string {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '--server' || a.startsWith('--server='));
  if (i < 0) return 'openbao';
  const value = args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
  if (value !== 'openbao' && value !== 'vault') {
    console.error(`demo: --server ${value ?? ''}: expected openbao or vault`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<number> {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js')))
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  // The testbed reads which server to run from the environment.
  process.env.VAULT_OPS_TEST_SERVER = serverArgument();
  const { serverBinary, testServer } = await import('../test/testbed/servers.js');
  const server = testServer();
  const { bootstrapRequest } = await import('../test/testbed/bootstrap-http.js');
  const secretsDir = await mkdtemp(join(tmpdir(), 'vault-ops-demo-'));
  let env: NodeJS.ProcessEnv = { ...process.env, VAULT_OPS_LOG_LEVEL: process.env.VAULT_OPS_LOG_LEVEL ?? 'warn' };
  let stop = async () => {};
  let keysFile = process.env.VAULT_OPS_UNSEAL_KEYS_FILE;
  try {
    let binary: string | undefined;
    try {
      binary = serverBinary(server);
    } catch {
      if (!process.env.VAULT_ADDR) {
        console.log(
          `No ${server.product} binary yet: building it from its Go module ` +
            `(${server.name === 'vault' ? '20-30 minutes' : 'a few minutes'}, once)…`,
        );
        execFileSync('bash', [join(root, 'test/testbed/build.sh'), server.name], { stdio: 'inherit' });
        binary = serverBinary(server);
      }
    }
    if (!process.env.VAULT_ADDR) {
      const { startVault } = await import('../test/testbed/vault.js');
      console.log(`Starting a local ${server.product} (Raft storage, 1 unseal key) on 127.0.0.1…`);
      const vault = await startVault();
      console.log(`${vault.version} at ${vault.addr}`);
      env = { ...env, VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
      stop = () => vault.stop();
      keysFile = join(secretsDir, 'unseal-keys');
      await writeFile(keysFile, vault.unsealKeys.join('\n'), { mode: 0o600 });
      // A few secrets and the KV v1 canary mount the drill reads back.
      const token = vault.rootToken;
      await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/secret', {
        token,
        body: { type: 'kv', options: { version: '2' } },
      });
      for (const app of ['payments', 'billing', 'web']) {
        await bootstrapRequest(vault.addr, 'POST', `secret/data/${app}/config`, {
          token,
          body: { data: { api_key: `demo-${app}` } },
        });
      }
      await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', {
        token,
        body: { type: 'kv', options: { version: '1' } },
      });
    }
    // Each run starts a new local cluster, which the save would rightly refuse to add to a store
    // that holds another cluster's snapshots (an earlier run's). Only for a cluster of its own does
    // the demo allow that; pointed at yours (VAULT_ADDR), the guard stays on.
    const earlierRun =
      !process.env.VAULT_ADDR && existsSync(backups) && readdirSync(backups).some((f) => f.endsWith('.manifest.json'));
    if (earlierRun)
      console.log(
        `\n${backups} holds an earlier demo run's snapshots, of another (throw-away) cluster: this run's snapshot ` +
          'joins them with --allow-cluster-change.',
      );
    // The store is signed, as it should be everywhere: one key pair made on the first run and kept
    // (./backups-keys); every later command verifies with it. Snapshots of demo runs from before
    // signing show as untrusted: that is the point.
    const keysDir = join(process.cwd(), 'backups-keys');
    if (!existsSync(join(keysDir, 'vault-ops-signing.pem'))) {
      const code = vaultOps(['setup', 'signing-key', '--out', keysDir], env);
      if (code !== 0) return code;
    }
    env = {
      ...env,
      VAULT_OPS_SIGNING_KEY: join(keysDir, 'vault-ops-signing.pem'),
      VAULT_OPS_VERIFY_KEY: join(keysDir, 'vault-ops-verify.pem'),
    };
    const steps: string[][] = [
      ['status'],
      ['snapshot', 'save', '--to', backups, '--canary', ...(earlierRun ? ['--allow-cluster-change'] : [])],
      ['snapshot', 'list', '--from', backups],
      ['snapshot', 'inspect', `file://${backups}#latest`],
    ];
    for (const step of steps) {
      const code = vaultOps(step, env);
      if (code !== 0) return code;
    }
    if (!keysFile) {
      console.log(
        "\nSkipping the restore drill: set VAULT_OPS_UNSEAL_KEYS_FILE to a file of your cluster's unseal keys (one " +
          'per line).',
      );
      return 0;
    }
    const drilled = vaultOps(
      ['verify', '--from', backups, '--unseal-keys-file', keysFile, ...(binary ? ['--vault-binary', binary] : [])],
      env,
    );
    if (drilled !== 0) return drilled;
    for (const step of [
      ['snapshot', 'list', '--from', backups],
      ['report', '--from', backups, '--out', join(process.cwd(), 'backups-report.html')],
    ]) {
      const code = vaultOps(step, env);
      if (code !== 0) return code;
    }
    return 0;
  } finally {
    await stop();
    await rm(secretsDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
