import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { archiveKey, drillKey, manifestKey } from '../../src/repository/layout.js';
import { fakeManifest, idAt } from '../helpers/manifest.js';
import { runCli } from '../helpers/run-cli.js';
import { onServer } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';

/**
 * Issue "A snapshot store that someone else can write to", the attacks that need a real server: a
 * forged passing drill record in a signed store, an old snapshot replayed as the newest, and one
 * store holding another cluster's manifest among several destinations. Real OpenBao / Vault and
 * folder stores (the store-independent rules are proven on every store kind in store-trust.test.ts).
 */
let vault: VaultTestbed;
let dir: string;
let env: Record<string, string>;
let keysFile: string;
let signingKeyFile: string;
let verifyKeyFile: string;

before(async () => {
  vault = await startVault();
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-trust-server-'));
  keysFile = join(dir, 'unseal-keys');
  await writeFile(keysFile, `${vault.unsealKeys.join('\n')}\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  signingKeyFile = join(dir, 'signing.pem');
  verifyKeyFile = join(dir, 'verify.pem');
  await writeFile(signingKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(verifyKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  env = { VAULT_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken };
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function vaultApi(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${vault.addr}/v1/${path}`, {
    method,
    headers: { 'x-vault-token': vault.rootToken, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function save(store: string, extra: string[] = []): Promise<string> {
  const r = await runCli(['snapshot', 'save', '--to', store, ...extra, '--output', 'json'], env);
  assert.equal(r.code, 0, r.stderr);
  return r.json().id as string;
}

describe(onServer('a store someone else can write to, against a real server'), () => {
  test('signed store: a forged passing drill record proves nothing; verify drills the snapshot and signs', async () => {
    const folder = join(dir, 'signed');
    await save(folder, ['--signing-key', signingKeyFile]);
    const newest = await save(folder, ['--signing-key', signingKeyFile]);
    // The uploader's "passed" record for the newest snapshot, in the exact form verify writes.
    const forged = drillKey('', newest, new Date(Date.now() - 5000));
    const manifest = JSON.parse(await readFile(join(folder, manifestKey('', newest)), 'utf8'));
    await writeFile(
      join(folder, forged),
      JSON.stringify({
        snapshotId: newest,
        archiveSha256: manifest.archive.sha256,
        finishedAt: new Date(Date.now() - 5000).toISOString(),
        passed: true,
        mode: 'recovery',
        server: {},
        checks: [],
        timings: { download: 0, start: 0, restore: 0, unseal: 0, checks: 0, total: 0 },
        rtoSeconds: 0,
        toolVersion: 'forged',
      }),
    );
    const trusted = ['--verify-key', verifyKeyFile];
    const before = await runCli(['snapshot', 'list', '--from', folder, ...trusted, '--output', 'json'], env);
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.json().snapshots[0].id, newest);
    assert.equal(before.json().snapshots[0].lastPassingDrill, null, 'the forged record does not count');

    const drilled = await runCli(
      [
        'verify',
        '--from',
        folder,
        '--snapshot',
        'unverified',
        '--unseal-keys-file',
        keysFile,
        '--vault-binary',
        vault.binary,
        '--signing-key',
        signingKeyFile,
        ...trusted,
        '--output',
        'json',
      ],
      env,
    );
    assert.equal(drilled.code, 0, drilled.stderr + drilled.stdout);
    const report = drilled.json();
    assert.equal(report.snapshotId, newest, 'the forged "passed" did not make verify skip it');
    assert.ok(report.checks.some((c: any) => c.name === 'manifest-signature' && c.passed));
    const record = JSON.parse(await readFile(join(folder, report.record), 'utf8'));
    assert.equal(record.signature.algorithm, 'ed25519');
    assert.equal(record.archiveSha256, manifest.archive.sha256);

    const after = await runCli(['snapshot', 'list', '--from', folder, ...trusted, '--output', 'json'], env);
    assert.equal(after.json().snapshots[0].lastPassingDrill.key, report.record);
    // Without the verify key the forged record counts again: that is what an unsigned store means.
    const unsigned = await runCli(['snapshot', 'list', '--from', folder, '--output', 'json'], env);
    assert.match(unsigned.stderr, /unsigned store/);
  });

  test('an old snapshot replayed as the newest is flagged, never latest, and restore stops for its id', async () => {
    const folder = join(dir, 'replay');
    await vaultApi('PUT', 'sys/policy/deleted-later', { policy: 'path "secret/*" { capabilities = ["read"] }' });
    const old = await save(folder);
    assert.equal((await vaultApi('DELETE', 'sys/policy/deleted-later')).status, 204);
    const newest = await save(folder);
    // The old archive and manifest put back under a newer id, with a createdAt that agrees with it.
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 + 1000);
    const replay = idAt(time, 0xddba1);
    const manifest = JSON.parse(await readFile(join(folder, manifestKey('', old)), 'utf8'));
    await copyFile(join(folder, archiveKey('', old, { encrypted: false })), join(folder, `${replay}.snap`));
    await writeFile(
      join(folder, manifestKey('', replay)),
      JSON.stringify({
        ...manifest,
        id: replay,
        createdAt: time.toISOString(),
        archive: { ...manifest.archive, key: `${replay}.snap` },
      }),
    );
    const listed = await runCli(['snapshot', 'list', '--from', folder, '--output', 'json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.json().snapshots[0].id, newest, 'latest is the real newest');
    assert.match(listed.json().anomalies.find((a: any) => a.id === replay).reason, /possible replay/);
    const text = await runCli(['snapshot', 'list', '--from', folder], env);
    assert.match(text.stdout, new RegExp(`Anomalies[^\\n]*\\n\\s+${replay}\\s+possible replay`));

    const restore = await runCli(
      ['restore', '--from', folder, '--snapshot', replay, '--yes', '--no-safety-snapshot'],
      env,
    );
    assert.equal(restore.code, 4, restore.all);
    assert.match(restore.stderr, /FLAGGED\s+possible replay/);
    assert.match(restore.stderr, /error: snapshot \S+ is flagged .*--yes is not enough/);
    assert.equal((await vaultApi('GET', 'sys/policy/deleted-later')).status, 404, 'nothing was rolled back');
  });

  test("one store holding another cluster's manifest is cut off; the other destination gets the snapshot", async () => {
    const poisoned = join(dir, 'poisoned');
    const healthy = join(dir, 'healthy');
    await save(poisoned);
    // A present-dated manifest of another cluster (a second ahead of the real one: the newest), consistent
    // with its id (an unsigned store cannot tell).
    const time = new Date(Math.floor(Date.now() / 1000) * 1000 + 2000);
    const id = idAt(time, 0xc1a55);
    await writeFile(join(poisoned, `${id}.snap`), 'x');
    await writeFile(
      join(poisoned, manifestKey('', id)),
      JSON.stringify(
        fakeManifest({
          id,
          createdAt: time.toISOString(),
          archive: { key: `${id}.snap`, bytes: 1, sha256: 'c'.repeat(64) },
          raft: { index: 10 ** 9, term: 1, configurationIndex: 1, servers: [] },
          cluster: { id: 'someone-elses-cluster' },
        }),
      ),
    );
    const r = await runCli(['snapshot', 'save', '--to', poisoned, '--to', healthy, '--output', 'json'], env);
    assert.equal(r.code, 1, r.all);
    assert.deepEqual(
      r.json().destinations.map((d: any) => d.stored),
      [false, true],
    );
    assert.match(r.stderr, /cluster id .* differs/);
    const healthyList = await runCli(['snapshot', 'list', '--from', healthy, '--output', 'json'], env);
    assert.deepEqual(
      healthyList.json().snapshots.map((s: any) => s.id),
      [r.json().id],
    );
  });
});
