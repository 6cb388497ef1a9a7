import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeScratchTls } from './scratch-tls.js';

test(
  'the drill`s own CA signs a server certificate for 127.0.0.1 and a client certificate; files are ' + '0600',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vault-ops-scratch-tls-'));
    try {
      const tls = await makeScratchTls(dir);
      const ca = new X509Certificate(tls.caPem);
      const server = new X509Certificate(await readFile(tls.serverCertFile, 'utf8'));
      const client = new X509Certificate(tls.clientCertPem);
      assert.equal(ca.ca, true);
      assert.ok(server.verify(ca.publicKey) && client.verify(ca.publicKey), 'both signed by the drill CA');
      assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
      assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth only');
      assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
      assert.equal(server.ca || client.ca, false);
      // The key files match their certificates.
      const serverKey = createPrivateKey(await readFile(tls.serverKeyFile, 'utf8'));
      assert.equal(
        createPublicKey(serverKey).export({ format: 'pem', type: 'spki' }),
        server.publicKey.export({ format: 'pem', type: 'spki' }),
      );
      assert.equal(
        createPublicKey(createPrivateKey(tls.clientKeyPem)).export({ format: 'pem', type: 'spki' }),
        client.publicKey.export({ format: 'pem', type: 'spki' }),
      );
      for (const f of [
        tls.serverCertFile,
        tls.serverKeyFile,
        tls.clientCaFile,
        join(dir, 'tls-client.pem'),
        join(dir, 'tls-client-key.pem'),
      ]) {
        assert.equal((await stat(f)).mode & 0o777, 0o600, f);
      }
      const other = await makeScratchTls(dir);
      assert.equal(
        new X509Certificate(other.clientCertPem).verify(ca.publicKey),
        false,
        'every drill has a CA of its own',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
