import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { binaryVersion } from '../testbed/servers.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { onServer, testServer } from '../testbed/servers.js';
import { readServerFlavour } from '../../src/vault/flavour.js';
import { VaultClient } from '../../src/vault/client.js';

/**
 * Where HashiCorp Vault and OpenBao differ in ways vault-ops depends on, each side checked on its
 * own server (the matrix runs this file once per server). The testbed's `differences` table is
 * what the other tests consult; this file proves the table right.
 */
const server = testServer();
let vault: VaultTestbed;

before(async () => {
  vault = await startVault();
});
after(async () => {
  await vault?.stop();
});

const api = (method: string, path: string, body?: unknown, okStatuses?: number[]) =>
  bootstrapRequest(vault.addr, method, path, {
    token: vault.rootToken,
    ...(body === undefined ? {} : { body }),
    ...(okStatuses ? { okStatuses } : {}),
  });

describe(onServer('server flavour differences'), () => {
  test('the binary reports the expected product and version; the API tells the flavour apart', async () => {
    assert.match(
      binaryVersion(vault.binary),
      new RegExp(`^${server.product} v${server.version.replaceAll('.', '\\.')}\\b`),
    );
    const client = new VaultClient({ address: vault.addr, timeoutMs: 10_000, allowInsecureHttp: false });
    assert.equal(await readServerFlavour(client), server.name);
    const seal = (await bootstrapRequest(vault.addr, 'GET', 'sys/seal-status')).body;
    assert.equal(seal.version, server.version);
  });

  test('the flavour is read from a sealed node too (sys/health answers 200 whatever the state)', async () => {
    const sealed = await startVault({ unseal: false });
    try {
      const client = new VaultClient({ address: sealed.addr, timeoutMs: 10_000, allowInsecureHttp: false });
      assert.equal(await readServerFlavour(client), server.name);
    } finally {
      await sealed.stop();
    }
  });

  const metadataCas = server.differences.metadataCas
    ? 'counted and enforced (OpenBao ≥ 2.4)'
    : 'absent (Vault): metadata writes carry no check-and-set';
  test(`KV v2 metadata_cas: ${metadataCas}`, async () => {
    await api('POST', 'sys/mounts/kvdiff', { type: 'kv', options: { version: '2' } });
    await api('POST', 'kvdiff/data/app', { data: { v: '1' } });
    const meta = (await api('GET', 'kvdiff/metadata/app')).body.data;
    if (server.differences.metadataCas) {
      assert.equal(typeof meta.current_metadata_version, 'number');
      const stale = meta.current_metadata_version + 5;
      const refused = await api(
        'POST',
        'kvdiff/metadata/app',
        { custom_metadata: { a: 'b' }, metadata_cas: stale },
        [400],
      );
      assert.equal(refused.status, 400);
      assert.match(JSON.stringify(refused.body), /metadata check-and-set parameter does not match/);
    } else {
      assert.equal(meta.current_metadata_version, undefined);
      // Vault ignores the unknown field: the write lands whatever "version" it names.
      await api('POST', 'kvdiff/metadata/app', { custom_metadata: { a: 'b' }, metadata_cas: 999 });
      assert.deepEqual((await api('GET', 'kvdiff/metadata/app')).body.data.custom_metadata, { a: 'b' });
    }
  });

  test(
    'sys/raw outside recovery mode: refused without raw_storage_endpoint, served with it (both ' + 'flavours)',
    async () => {
      const refused = await api('GET', 'sys/raw/core/mounts', undefined, [400, 403, 404, 405]);
      assert.ok([400, 403, 404, 405].includes(refused.status), `status ${refused.status}`);
      const raw = await startVault({ rawStorageEndpoint: true });
      try {
        const served = await bootstrapRequest(raw.addr, 'GET', 'sys/raw/core/mounts', {
          token: raw.rootToken,
          okStatuses: [200, 404],
        });
        // OpenBao's transactional layout keeps one entry per mount under core/mounts/, Vault one table.
        const listed = await bootstrapRequest(raw.addr, 'GET', 'sys/raw/core/mounts/?list=true', {
          token: raw.rootToken,
          okStatuses: [200, 404],
        });
        assert.ok(served.status === 200 || listed.status === 200, `served ${served.status}, listed ${listed.status}`);
      } finally {
        await raw.stop();
      }
    },
  );
});
