import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { isVaultOpsError } from '../../errors.js';
import { noTlsRefusal, postgresTransport } from './postgres-tls.js';

const ca = { file: '/etc/db-ca.pem', pem: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n' };
const at = { host: '127.0.0.1', port: 5432 };
/** A peer certificate as Node hands it to checkServerIdentity (data only). */
const certFor = (san: string) => ({ subject: { CN: 'db' }, subjectaltname: san }) as unknown as PeerCertificate;

test('only an explicit sslmode=disable is plain text; no sslmode, prefer and allow mean TLS required', () => {
  assert.equal(postgresTransport({ ...at, sslmode: 'disable' }, ca).tls, false);
  for (const sslmode of [undefined, 'prefer', 'allow']) {
    const t = postgresTransport({ ...at, ...(sslmode ? { sslmode } : {}) }, undefined);
    assert.ok(t.tls, `${sslmode ?? 'no sslmode'} uses TLS`);
    assert.equal(t.tls.rejectUnauthorized, false, 'libpq does not verify the certificate in these modes without a CA');
    assert.match(t.describe, /read as TLS required/);
  }
});

test('require encrypts; a CA given is always used to verify the chain (as libpq with a root certificate)', () => {
  const plain = postgresTransport({ ...at, sslmode: 'require' }, undefined);
  assert.ok(plain.tls && plain.tls.rejectUnauthorized === false);
  for (const sslmode of ['require', 'prefer', 'verify-ca']) {
    const t = postgresTransport({ ...at, sslmode }, ca);
    assert.ok(t.tls && t.tls.rejectUnauthorized === true, sslmode);
    assert.equal(t.tls.ca, ca.pem);
    assert.equal(
      t.tls.checkServerIdentity!('127.0.0.1', certFor('DNS:elsewhere')),
      undefined,
      `${sslmode}: host name not checked`,
    );
    assert.match(t.describe, /chain verified against --db-ca-cert \/etc\/db-ca\.pem, host name not checked/);
  }
});

test('verify-full checks the connection_url host, also behind --login-check-address', () => {
  const direct = postgresTransport({ ...at, sslmode: 'verify-full' }, ca);
  assert.ok(direct.tls && direct.tls.rejectUnauthorized === true);
  assert.equal(direct.tls.checkServerIdentity!('127.0.0.1', certFor('IP Address:127.0.0.1')), undefined);
  assert.ok(direct.tls.checkServerIdentity!('127.0.0.1', certFor('DNS:other.example')) instanceof Error);
  // A port-forward: the socket goes to localhost, the certificate must name the database host.
  const forwarded = postgresTransport(
    { host: 'localhost', port: 15432, sslmode: 'verify-full', tlsServerName: 'db.internal' },
    ca,
  );
  assert.ok(forwarded.tls);
  assert.equal(forwarded.tls.servername, 'db.internal');
  assert.equal(forwarded.tls.checkServerIdentity!('localhost', certFor('DNS:db.internal')), undefined);
  assert.ok(forwarded.tls.checkServerIdentity!('localhost', certFor('DNS:localhost')) instanceof Error);
  // Without --db-ca-cert: Node's bundled CAs (no `ca` option), still verified.
  const publicCa = postgresTransport({ ...at, sslmode: 'verify-full' }, undefined);
  assert.ok(publicCa.tls && publicCa.tls.rejectUnauthorized === true && publicCa.tls.ca === undefined);
});

test('an unknown sslmode is a config error naming the valid ones', () => {
  assert.throws(
    () => postgresTransport({ ...at, sslmode: 'requir' }, undefined),
    (err: unknown) =>
      isVaultOpsError(err) &&
      err.code === 'config' &&
      /sslmode=requir: expected one of disable, allow, prefer, require, verify-ca, verify-full/.test(err.message),
  );
});

test('the refusal for a server without TLS is one line telling how to accept plain text explicitly', () => {
  const implicit = noTlsRefusal(at, postgresTransport(at, undefined));
  assert.equal(implicit.code, 'insecure');
  assert.equal(implicit.exitCode, 2);
  assert.match(
    implicit.message,
    /^127\.0\.0\.1:5432 offers no TLS and the connection_url names no sslmode: refusing to send a password in clear text .*sslmode=disable/,
  );
  assert.ok(!implicit.message.includes('\n'));
  const required = noTlsRefusal(at, postgresTransport({ ...at, sslmode: 'verify-full' }, ca));
  assert.match(required.message, /offers no TLS but the connection_url has sslmode=verify-full/);
});
