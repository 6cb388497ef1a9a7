import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertTransportAllowed, isLoopbackHost, resolveConnection, withAddress } from './connection.js';
import { isLiteralLoopback } from '../io/loopback.js';

test('loopback: literal addresses, or names resolving only to loopback (never trusted by their look)', async () => {
  const hosts: Record<string, string[]> = {
    localhost: ['127.0.0.1', '::1'],
    'vault.localhost': ['127.0.0.1'],
    'hijacked.localhost': ['10.0.0.7'],
    'mixed.example': ['127.0.0.1', '192.168.1.5'],
    'vault.example.com': ['203.0.113.9'],
  };
  const lookup = async (h: string) => {
    if (!(h in hosts)) throw Object.assign(new Error(`ENOTFOUND ${h}`), { code: 'ENOTFOUND' });
    return hosts[h]!.map((address) => ({ address }));
  };
  for (const h of ['127.0.0.1', '127.8.9.10', '[::1]', '::1', '::ffff:127.0.0.1', 'localhost', 'vault.localhost'])
    assert.equal(await isLoopbackHost(h, lookup), true, h);
  for (const h of [
    '10.0.0.1',
    '192.168.1.1',
    '128.0.0.1',
    '::2',
    '::ffff:10.0.0.1',
    'hijacked.localhost',
    'mixed.example',
    'vault.example.com',
    'unknown.invalid',
  ])
    assert.equal(await isLoopbackHost(h, lookup), false, h);
  for (const h of ['127.0.0.1', '::1']) assert.equal(isLiteralLoopback(h), true, h);
  assert.equal(isLiteralLoopback('localhost'), false, 'a name is not a literal');
  assert.equal(await isLoopbackHost('localhost'), true, 'this machine resolves localhost to loopback');
});

test('plain http only to loopback unless allowed', async () => {
  const lookup = async (h: string) =>
    h === 'evil.localhost' ? [{ address: '10.9.9.9' }] : [{ address: '203.0.113.1' }];
  await assert.doesNotReject(assertTransportAllowed('http://127.0.0.1:8200', false));
  await assert.doesNotReject(assertTransportAllowed('https://vault.example:8200', false, lookup));
  await assert.rejects(
    assertTransportAllowed('http://vault.example:8200', false, lookup),
    (e: any) => e.code === 'insecure' && e.exitCode === 2,
  );
  await assert.rejects(
    assertTransportAllowed('http://evil.localhost:8200', false, lookup),
    /refusing plaintext http to evil\.localhost:8200: it is not a loopback address/,
  );
  await assert.doesNotReject(assertTransportAllowed('http://vault.example:8200', true, lookup));
  await assert.rejects(assertTransportAllowed('ftp://x', true), /unsupported scheme/);
});

test('a redirect to the leader obeys the same rule', async () => {
  const c = await resolveConnection({
    vaultAddr: 'http://127.0.0.1:8200/',
    allowInsecureHttp: false,
    requestTimeoutSeconds: 5,
  });
  assert.equal(c.address, 'http://127.0.0.1:8200');
  assert.equal((await withAddress(c, 'http://127.0.0.2:8200')).address, 'http://127.0.0.2:8200');
  await assert.rejects(withAddress(c, 'http://10.1.1.1:8200'), /refusing plaintext http/);
});

test('an unreadable CA file is a config error naming the file', async () => {
  await assert.rejects(
    resolveConnection({
      vaultAddr: 'https://x:8200',
      caCert: '/nonexistent/ca.pem',
      allowInsecureHttp: false,
      requestTimeoutSeconds: 5,
    }),
    /cannot read CA certificate \/nonexistent\/ca\.pem .*ENOENT/,
  );
});

test('a client certificate and key are read once, the key registered as secret; bad files name the flag', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vault-ops-conn-'));
  try {
    const cert = join(dir, 'c.pem');
    const key = join(dir, 'c.key');
    await writeFile(cert, '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n');
    await writeFile(key, '-----BEGIN PRIVATE KEY-----\nMIGHAgEAkeymaterial\n-----END PRIVATE KEY-----\n');
    const registered: string[] = [];
    const base = { vaultAddr: 'http://127.0.0.1:8200', allowInsecureHttp: false, requestTimeoutSeconds: 5 };
    const c = await resolveConnection({ ...base, clientCert: cert, clientKey: key }, (v) => registered.push(v));
    assert.match(c.clientCertPem!, /BEGIN CERTIFICATE/);
    assert.match(c.clientKeyPem!, /BEGIN PRIVATE KEY/);
    assert.ok(registered.includes(c.clientKeyPem!) && registered.includes('MIGHAgEAkeymaterial'));
    await assert.rejects(
      resolveConnection({ ...base, clientCert: cert, clientKey: join(dir, 'missing') }),
      /cannot read the client key file .*missing \(ENOENT\): check --client-key/,
    );
    await assert.rejects(
      resolveConnection({ ...base, clientCert: key, clientKey: key }),
      /holds no PEM certificate \(--client-cert\)/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
