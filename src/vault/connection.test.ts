import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertTransportAllowed, isLoopbackHost, resolveConnection, withAddress } from './connection.js';

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.8.9.10', 'localhost', '[::1]', '::1', 'vault.localhost']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['10.0.0.1', '192.168.1.1', 'vault.example.com', '128.0.0.1', '::2']) assert.equal(isLoopbackHost(h), false, h);
});

test('plain http only to loopback unless allowed', () => {
  assert.doesNotThrow(() => assertTransportAllowed('http://127.0.0.1:8200', false));
  assert.doesNotThrow(() => assertTransportAllowed('https://vault.example:8200', false));
  assert.throws(() => assertTransportAllowed('http://vault.example:8200', false), (e: any) => e.code === 'insecure' && e.exitCode === 2);
  assert.doesNotThrow(() => assertTransportAllowed('http://vault.example:8200', true));
  assert.throws(() => assertTransportAllowed('ftp://x', true), /unsupported scheme/);
});

test('a redirect to the leader obeys the same rule', async () => {
  const c = await resolveConnection({ vaultAddr: 'http://127.0.0.1:8200/', allowInsecureHttp: false, requestTimeoutSeconds: 5 });
  assert.equal(c.address, 'http://127.0.0.1:8200');
  assert.equal(withAddress(c, 'http://127.0.0.2:8200').address, 'http://127.0.0.2:8200');
  assert.throws(() => withAddress(c, 'http://10.1.1.1:8200'), /refusing plaintext http/);
});

test('an unreadable CA file is a config error naming the file', async () => {
  await assert.rejects(resolveConnection({ vaultAddr: 'https://x:8200', caCert: '/nonexistent/ca.pem', allowInsecureHttp: false, requestTimeoutSeconds: 5 }), /cannot read CA certificate \/nonexistent\/ca\.pem .*ENOENT/);
});
