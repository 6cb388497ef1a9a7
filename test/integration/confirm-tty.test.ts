import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { readSecret, seedSecrets } from '../helpers/seed.js';
import { onServer } from '../testbed/servers.js';

/**
 * The typed confirmation on a real terminal: `script` (util-linux) gives the CLI a pty, the test
 * types at the prompt like an operator would.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
let vault: VaultTestbed;
let dir: string;
let snapshotId: string;
let clusterName: string;

before(async () => {
  vault = await startVault();
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-tty-'));
  await seedSecrets(vault.addr, vault.rootToken, { count: 2, prefix: 'kept' });
  const saved = await runCli(['snapshot', 'save', '--to', join(dir, 'store'), '--output', 'json'], {
    VAULT_ADDR: vault.addr,
    VAULT_TOKEN: vault.rootToken,
  });
  assert.equal(saved.code, 0, saved.stderr);
  snapshotId = saved.json().id;
  clusterName = (await bootstrapRequest(vault.addr, 'GET', 'sys/seal-status')).body.cluster_name;
  await seedSecrets(vault.addr, vault.rootToken, { count: 2, prefix: 'lost' });
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Run `restore` on a pty and type `answer` at the confirmation prompt. */
async function restoreTyping(answer: string): Promise<{ code: number | null; screen: string }> {
  const cmd =
    `${process.execPath} --import tsx src/cli/entry.ts restore --from ${join(dir, 'store')} --snapshot ` +
    `${snapshotId} --no-safety-snapshot`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
      VAULT_OPS_LOG_LEVEL: 'warn',
      TERM: 'dumb',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    if (!typed && screen.includes('to continue (anything else stops)')) {
      typed = true;
      child.stdin.write(`${answer}\r`);
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, screen: screen.replace(/\r/g, '') };
}

test(onServer('on a terminal, a wrong cluster name refuses the restore (exit 4) and changes nothing'), async () => {
  const r = await restoreTyping('not-the-cluster');
  assert.equal(r.code, 4, r.screen);
  assert.match(r.screen, new RegExp(`Type "${clusterName}" to continue`));
  assert.match(r.screen, /restore not confirmed: nothing was changed/);
  assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'lost/s0'), 'value-lost/s0');
  assert.ok(!r.screen.includes(vault.rootToken));
});

test(onServer('on a terminal, typing the cluster name restores'), async () => {
  const r = await restoreTyping(clusterName);
  assert.equal(r.code, 0, r.screen);
  assert.match(r.screen, /applied; the cluster is unsealed/);
  assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'kept/s0'), 'value-kept/s0');
  assert.equal(await readSecret(vault.addr, vault.rootToken, 'secret', 'lost/s0'), undefined);
  assert.deepEqual(
    (await readdir(join(dir, 'store'))).filter((f) => f.endsWith('.manifest.json')).length,
    1,
    'no safety snapshot was asked for',
  );
});
