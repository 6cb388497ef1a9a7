import assert from 'node:assert/strict';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { makeTestCertificates } from '../testbed/tls.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { runCli } from '../helpers/run-cli.js';
import { authenticate } from '../../src/vault/auth.js';
import { VaultClient } from '../../src/vault/client.js';
import { resolveConnection } from '../../src/vault/connection.js';
import { SecretRegistry } from '../../src/observability/secret-registry.js';
import { silentLogger } from '../../src/observability/logger.js';
import { onServer } from '../testbed/servers.js';

let vault: VaultTestbed;
let dir: string;

before(async () => {
  vault = await startVault();
  console.log(`testbed: ${vault.version} at ${vault.addr} (${vault.binary})`);
  dir = await mkdtemp(join(tmpdir(), 'vault-ops-status-test-'));
});
after(async () => {
  await vault?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(onServer('vault-ops status (single node)'), () => {
  test('--output json prints the documented shape', async () => {
    const r = await runCli(['status', '--output', 'json', '--log-level', 'trace'], {
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
    });
    assert.equal(r.code, 0, r.stderr);
    const s = r.json();
    assert.equal(s.initialized, true);
    assert.equal(s.sealed, false);
    assert.equal(s.version, vault.server.version);
    assert.equal(s.flavour, vault.server.name, 'status says which server flavour it talks to');
    assert.match(s.clusterName, /^vault-cluster-/);
    assert.match(s.clusterId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(s.leader, { address: vault.addr, isSelf: true });
    assert.equal(s.peers.length, 1);
    assert.deepEqual(Object.keys(s.peers[0]).sort(), ['address', 'healthy', 'leader', 'nodeId', 'voter']);
    assert.equal(s.peers[0].nodeId, 'node1');
    assert.equal(s.peers[0].leader, true);
    assert.equal(s.peers[0].voter, true);
    assert.equal(typeof s.autopilot.healthy, 'boolean');
    assert.equal(typeof s.autopilot.failureTolerance, 'number');
    assert.ok(!r.all.includes(vault.rootToken), 'the token must never be printed or logged');
  });

  test('text output names the leader and peers', async () => {
    const r = await runCli(['status'], { BAO_ADDR: vault.addr, VAULT_TOKEN: vault.rootToken });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Leader\s+http:\/\/127\.0\.0\.1:\d+ \(this node\)/);
    assert.match(r.stdout, new RegExp(`Server\\s+${vault.server.name === 'vault' ? 'HashiCorp Vault' : 'OpenBao'}\\n`));
    assert.match(r.stdout, /node1\s+127\.0\.0\.1:\d+\s+leader\s+yes\s+yes/);
  });

  test('an invalid token: exit 1, one clear line, token not echoed', async () => {
    const bad = 's.thisIsNotAValidTokenAtAll123';
    const r = await runCli(['status', '--log-level', 'trace'], { VAULT_ADDR: vault.addr, VAULT_TOKEN: bad });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: Vault rejected the token .*invalid, expired or revoked/);
    assert.ok(!r.all.includes(bad));
  });

  test('an expired token: exit 1', async () => {
    const { body } = await bootstrapRequest(vault.addr, 'POST', 'auth/token/create', {
      token: vault.rootToken,
      body: { ttl: '1s', explicit_max_ttl: '1s', policies: ['default'] },
    });
    const shortLived = body.auth.client_token as string;
    await new Promise((r) => setTimeout(r, 2500));
    const r = await runCli(['status', '--log-level', 'debug'], { VAULT_ADDR: vault.addr, VAULT_TOKEN: shortLived });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Vault rejected the token/);
    assert.ok(!r.all.includes(shortLived));
  });

  test('a renewable token is kept alive during a long run', async () => {
    // A 6 s TTL: renewal comes at two thirds (4 s), so a loaded machine has 2 s of slack per renewal (CI once
    // saw a renewal answer over a second late when the TTL was 3 s).
    const { body } = await bootstrapRequest(vault.addr, 'POST', 'auth/token/create', {
      token: vault.rootToken,
      body: { ttl: '6s', explicit_max_ttl: '1h', renewable: true, policies: ['default'] },
    });
    const token = body.auth.client_token as string;
    const client = new VaultClient(
      await resolveConnection({ vaultAddr: vault.addr, allowInsecureHttp: false, requestTimeoutSeconds: 5 }),
    );
    const session = await authenticate(
      client,
      { authMethod: 'token', token, jwtFile: '/nonexistent' },
      { secrets: new SecretRegistry(), logger: silentLogger },
    );
    type Lookup = { data: { ttl: number; expire_time: string } };
    try {
      assert.equal(session.renewable, true);
      const firstExpiry = Date.parse((await client.read<Lookup>('auth/token/lookup-self')).data.expire_time);
      await new Promise((r) => setTimeout(r, 7000)); // longer than the 6 s TTL
      // It answers at all: an expired token would be refused here.
      const later = await client.read<Lookup>('auth/token/lookup-self');
      assert.ok(later.data.ttl >= 0);
      const pushedBy = Date.parse(later.data.expire_time) - firstExpiry;
      assert.ok(pushedBy >= 2000, `renewal pushed the expiry back by ${pushedBy} ms`);
    } finally {
      session.close();
    }
  });

  test('a token without permission on raft configuration: exit 1 naming the path', async () => {
    const { body } = await bootstrapRequest(vault.addr, 'POST', 'auth/token/create', {
      token: vault.rootToken,
      body: { policies: ['default'] },
    });
    const r = await runCli(['status'], { VAULT_ADDR: vault.addr, VAULT_TOKEN: body.auth.client_token });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /permission denied: GET sys\/storage\/raft\/configuration/);
  });

  test('AppRole login works; a wrong secret id fails cleanly without echoing it', async () => {
    await bootstrapRequest(vault.addr, 'POST', 'sys/auth/approle', {
      token: vault.rootToken,
      body: { type: 'approle' },
    });
    await bootstrapRequest(vault.addr, 'POST', 'sys/policies/acl/status-reader', {
      token: vault.rootToken,
      body: { policy: 'path "sys/storage/raft/*" { capabilities = ["read"] }' },
    });
    await bootstrapRequest(vault.addr, 'POST', 'auth/approle/role/ops', {
      token: vault.rootToken,
      body: { token_policies: ['default', 'status-reader'], token_ttl: '5m' },
    });
    const roleId = (
      await bootstrapRequest(vault.addr, 'GET', 'auth/approle/role/ops/role-id', { token: vault.rootToken })
    ).body.data.role_id as string;
    const secretId = (
      await bootstrapRequest(vault.addr, 'POST', 'auth/approle/role/ops/secret-id', { token: vault.rootToken })
    ).body.data.secret_id as string;
    const good = join(dir, 'secret-id');
    await writeFile(good, `${secretId}\n`, { mode: 0o600 });
    const ok = await runCli(
      [
        'status',
        '--auth-method',
        'approle',
        '--role-id',
        roleId,
        '--secret-id-file',
        good,
        '--output',
        'json',
        '--log-level',
        'trace',
      ],
      { VAULT_ADDR: vault.addr },
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json().peers.length, 1);
    assert.ok(!ok.all.includes(secretId));

    const wrongSecret = 'd0f8a1c2-0000-4000-8000-000000000000';
    const bad = join(dir, 'wrong-secret-id');
    await writeFile(bad, wrongSecret, { mode: 0o600 });
    const r = await runCli(
      ['status', '--auth-method', 'approle', '--role-id', roleId, '--secret-id-file', bad, '--log-level', 'trace'],
      { VAULT_ADDR: vault.addr },
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: AppRole login to auth\/approle failed/);
    assert.ok(!r.all.includes(wrongSecret));
  });

  test('missing JWT file for kubernetes auth: exit 2 naming the file', async () => {
    const r = await runCli(
      ['status', '--auth-method', 'kubernetes', '--auth-role', 'ops', '--jwt-file', join(dir, 'nope.jwt')],
      { VAULT_ADDR: vault.addr },
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read the Kubernetes service-account token file .*nope\.jwt \(ENOENT\)/);
  });

  test('unreachable address: exit 1', async () => {
    const r = await runCli(['status'], { VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'x-token-value' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: cannot reach Vault at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  });

  test('plain http to a non-loopback address is refused before any request: exit 2', async () => {
    const r = await runCli(['status', '--vault-addr', 'http://192.0.2.10:8200'], { VAULT_TOKEN: 'x-token-value' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing plaintext http to 192\.0\.2\.10:8200/);
  });

  test('bad configuration names every bad field: exit 2', async () => {
    const r = await runCli(['status', '--auth-method', 'approle', '--output', 'yaml'], { VAULT_ADDR: vault.addr });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--output must be one of text, json/);
    assert.match(r.stderr, /--role-id: required with --auth-method approle/);
    assert.match(r.stderr, /--secret-id-file/);
  });
});

describe(onServer('vault-ops status over TLS'), () => {
  let tlsVault: VaultTestbed;
  before(async () => {
    tlsVault = await startVault({ tls: true });
  });
  after(async () => tlsVault?.stop());

  test('with the right CA it works', async () => {
    const r = await runCli(['status', '--output', 'json', '--ca-cert', tlsVault.tls!.caFile], {
      VAULT_ADDR: tlsVault.addr,
      VAULT_TOKEN: tlsVault.rootToken,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json().sealed, false);
  });

  test('with a wrong CA: exit 1 and advice about --ca-cert', async () => {
    const other = makeTestCertificates(dir, 'other');
    const r = await runCli(['status'], {
      VAULT_ADDR: tlsVault.addr,
      VAULT_TOKEN: tlsVault.rootToken,
      VAULT_CACERT: other.caFile,
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed .*--ca-cert/);
  });

  test('VAULT_SKIP_VERIFY does not turn verification off', async () => {
    const r = await runCli(['status'], {
      VAULT_ADDR: tlsVault.addr,
      VAULT_TOKEN: tlsVault.rootToken,
      VAULT_SKIP_VERIFY: 'true',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TLS verification/);
  });
});

describe(onServer('vault-ops status on a sealed or uninitialised Vault'), () => {
  test('sealed: exit 1, status still printed', async () => {
    const sealed = await startVault({ unseal: false });
    try {
      const r = await runCli(['status', '--output', 'json'], {
        VAULT_ADDR: sealed.addr,
        VAULT_TOKEN: sealed.rootToken,
      });
      assert.equal(r.code, 1);
      assert.deepEqual(
        { initialized: r.json().initialized, sealed: r.json().sealed },
        { initialized: true, sealed: true },
      );
      assert.match(r.stderr, /is sealed: unseal it/);
    } finally {
      await sealed.stop();
    }
  });

  test('uninitialised: exit 1', async () => {
    const fresh = await startVault({ initialize: false });
    try {
      const r = await runCli(['status'], { VAULT_ADDR: fresh.addr, VAULT_TOKEN: 'unused-token' });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /Initialized\s+false/);
      assert.match(r.stderr, /is not initialized/);
    } finally {
      await fresh.stop();
    }
  });
});
