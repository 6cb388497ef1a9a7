import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { startTransitSeal, type TransitSeal } from '../testbed/transit-seal.js';
import { runCli } from '../helpers/run-cli.js';
import { onServer, testServer } from '../testbed/servers.js';

/**
 * Auto-unseal sources. Both flavours: `seal "transit"` against a second server's transit engine
 * (it stands in for a cloud KMS). OpenBao only: `seal "static"` (a local AES key file); Vault has
 * no such seal and refuses the stanza, which is checked too. The drill gets the source's seal
 * stanza (--seal-config) and its RECOVERY keys.
 */
let dir: string;
let drillTmp: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-auto-unseal-'));
  drillTmp = join(dir, 'tmp');
  await (await import('node:fs/promises')).mkdir(drillTmp);
  // The CLI runs in this process: its drills make their temp dirs in os.tmpdir(), i.e. here.
  process.env.TMPDIR = drillTmp;
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Save a canaried snapshot of `vault`, then drill it with `stanza` and the recovery keys. */
async function saveAndDrill(
  vault: VaultTestbed,
  stanza: string,
  name: string,
): Promise<{ saved: any; drill: Awaited<ReturnType<typeof runCli>> }> {
  const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, TMPDIR: drillTmp };
  await bootstrapRequest(vault.addr, 'POST', 'sys/mounts/vault-ops-canary', {
    token: vault.rootToken,
    body: { type: 'kv', options: { version: '1' } },
  });
  const store = join(dir, `store-${name}`);
  const saved = await runCli(['snapshot', 'save', '--to', store, '--canary', '--output', 'json'], env);
  assert.equal(saved.code, 0, saved.stderr);
  const sealFile = join(dir, `seal-${name}.hcl`);
  await writeFile(sealFile, stanza, { mode: 0o600 });
  const keys = join(dir, `recovery-keys-${name}`);
  await writeFile(keys, vault.unsealKeys.join('\n'), { mode: 0o600 });
  const drill = await runCli(
    [
      'verify',
      '--from',
      store,
      '--unseal-keys-file',
      keys,
      '--seal-config',
      sealFile,
      '--vault-binary',
      vault.binary,
      '--output',
      'json',
    ],
    env,
  );
  return { saved: saved.json(), drill };
}

describe(onServer('verify: auto-unseal sources'), () => {
  test(
    'transit seal (a second server`s transit engine): a recovery-mode drill passes with the seal stanza and ' +
      'recovery keys',
    async () => {
      let transit: TransitSeal | undefined;
      let vault: VaultTestbed | undefined;
      try {
        transit = await startTransitSeal();
        vault = await startVault({ sealConfig: transit.stanza });
        const seal = (await bootstrapRequest(vault.addr, 'GET', 'sys/seal-status')).body;
        assert.equal(seal.type, 'transit');
        assert.equal(seal.sealed, false);
        const { saved, drill } = await saveAndDrill(vault, transit.stanza, 'transit');
        assert.equal(saved.seal.type, 'transit');
        assert.equal(saved.cluster.flavour, vault.server.name);
        assert.equal(drill.code, 0, drill.stderr + drill.stdout);
        assert.equal(drill.json().passed, true);
        assert.ok(drill.json().checks.some((c: any) => c.name === 'canary' && c.passed));
        for (const secret of [transit.token, vault.rootToken, ...vault.unsealKeys])
          assert.ok(!drill.all.includes(secret), 'a secret reached the output');
        assert.deepEqual(
          (await readdir(drillTmp)).filter((d) => d.startsWith('vault-ops-drill-')),
          [],
          'no drill temp dir is left',
        );
      } finally {
        await vault?.stop();
        await transit?.stop();
      }
    },
  );

  const staticStanza = (keyFile: string) =>
    `seal "static" {\n  current_key_id = "test-1"\n  current_key    = "file://${keyFile}"\n}\n`;

  if (testServer().differences.staticSeal) {
    test('OpenBao`s static seal: a recovery-mode drill passes with the seal stanza and recovery keys', async () => {
      const keyFile = join(dir, 'unseal.key');
      execFileSync('openssl', ['rand', '-out', keyFile, '32']);
      const stanza = staticStanza(keyFile);
      const vault = await startVault({ sealConfig: stanza });
      try {
        const seal = (await bootstrapRequest(vault.addr, 'GET', 'sys/seal-status')).body;
        assert.equal(seal.type, 'static');
        assert.equal(seal.sealed, false);
        const { saved, drill } = await saveAndDrill(vault, stanza, 'static');
        assert.equal(saved.seal.type, 'static');
        assert.equal(drill.code, 0, drill.stderr + drill.stdout);
        assert.equal(drill.json().passed, true);
        assert.ok(drill.json().checks.some((c: any) => c.name === 'canary' && c.passed));
      } finally {
        await vault.stop();
      }
    });
  } else {
    test(
      'Vault has no static seal: a server configured with one refuses to start (the static-seal drill is ' +
        'OpenBao`s)',
      async () => {
        const keyFile = join(dir, 'unseal.key');
        execFileSync('openssl', ['rand', '-out', keyFile, '32']);
        await assert.rejects(startVault({ sealConfig: staticStanza(keyFile) }), /did not become ready[\s\S]*static/);
      },
    );
  }
});
