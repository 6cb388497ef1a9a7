import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * An auto-unseal source: OpenBao's `seal "static"` (a local AES key file) stands in for a cloud
 * KMS. The drill gets the source's seal stanza (--seal-config) and its RECOVERY keys.
 */
let dir: string;
let vault: VaultTestbed;
let sealFile: string;
let env: Record<string, string>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-auto-unseal-'));
  const keyFile = join(dir, 'unseal.key');
  execFileSync('openssl', ['rand', '-out', keyFile, '32']);
  const stanza = `seal "static" {\n  current_key_id = "test-1"\n  current_key    = "file://${keyFile}"\n}\n`;
  sealFile = join(dir, 'seal.hcl');
  await writeFile(sealFile, stanza);
  vault = await startVault({ sealConfig: stanza });
  console.log(`testbed: ${vault.version} with seal "static"`);
  env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, TMPDIR: dir };
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a snapshot of an auto-unseal cluster passes a recovery-mode drill with its seal stanza and recovery keys', async () => {
  const seal = (await bootstrapRequest(vault.addr, 'GET', 'sys/seal-status')).body;
  assert.equal(seal.type, 'static');
  assert.equal(seal.sealed, false);
  await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', { token: vault.rootToken, body: { type: 'kv', options: { version: '1' } } });
  const store = join(dir, 'store');
  const saved = await runCli(['snapshot', 'save', '--to', store, '--canary', '--output', 'json'], env);
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal(saved.json().seal.type, 'static');
  const keys = join(dir, 'recovery-keys');
  await writeFile(keys, vault.unsealKeys.join('\n'), { mode: 0o600 });
  const r = await runCli(['verify', '--from', store, '--unseal-keys-file', keys, '--seal-config', sealFile, '--vault-binary', vault.binary, '--output', 'json'], env);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(r.json().passed, true);
  assert.ok(r.json().checks.some((c: any) => c.name === 'canary' && c.passed));
});
