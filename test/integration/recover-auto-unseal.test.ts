import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { onServer } from '../testbed/servers.js';
import { startTransitSeal, type TransitSeal } from '../testbed/transit-seal.js';
import { startVault, type VaultTestbed, rootRequest } from '../testbed/vault.js';

/**
 * An auto-unseal source (`seal "transit"` against a second server, standing in for a cloud KMS): recover
 * reads its snapshot with the seal stanza (--seal-config) and the source's RECOVERY keys, as verify does.
 */
let dir: string;
let transit: TransitSeal;
let vault: VaultTestbed;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-recover-auto-unseal-'));
  await mkdir(join(dir, 'tmp'));
  process.env.TMPDIR = join(dir, 'tmp');
  transit = await startTransitSeal();
  vault = await startVault({ sealConfig: transit.stanza });
});
after(async () => {
  await vault?.stop();
  await transit?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('recover: an auto-unseal source'), () => {
  test('a transit-sealed snapshot, read with --seal-config and the recovery keys: the secret is back', async () => {
    const env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken, TMPDIR: join(dir, 'tmp') };
    const api = async (method: string, path: string, body?: unknown) =>
      (await rootRequest(vault, method, path, body)).body;
    const good = `good-${randomBytes(8).toString('hex')}`;
    await api('POST', 'sys/mounts/apps', { type: 'kv', options: { version: '2' } });
    await api('POST', 'apps/data/svc', { data: { key: good } });
    const store = join(dir, 'store');
    const saved = await runCli(['snapshot', 'save', '--to', store, '--output', 'json'], env);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.json().seal.type, 'transit');
    await api('DELETE', 'apps/metadata/svc');
    const sealFile = join(dir, 'seal.hcl');
    await writeFile(sealFile, transit.stanza, { mode: 0o600 });
    const keys = join(dir, 'recovery-keys');
    await writeFile(keys, vault.unsealKeys.join('\n'), { mode: 0o600 });
    const r = await runCli(
      [
        'recover',
        '--from',
        store,
        '--snapshot',
        'latest',
        '--path',
        'apps/svc',
        '--unseal-keys-file',
        keys,
        '--seal-config',
        sealFile,
        '--vault-binary',
        vault.binary,
        '--yes',
        '--output',
        'json',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual((await api('GET', 'apps/data/svc')).data.data, { key: good });
    for (const secret of [good, transit.token, vault.rootToken, ...vault.unsealKeys])
      assert.ok(!r.all.includes(secret), 'a secret reached the output');
    assert.deepEqual(
      (await readdir(join(dir, 'tmp'))).filter((d) => d.startsWith('vault-ops-drill-')),
      [],
    );
  });
});
