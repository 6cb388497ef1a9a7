import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed EC CA, `<path>.key` and `<path>.pem`, valid two days. */
function makeCa(path: string, subject: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${path}.key`,
      '-out',
      `${path}.pem`,
      '-days',
      '2',
      '-subj',
      subject,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

export interface TestCertificates {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and a server certificate for 127.0.0.1 / localhost (and `ips`), made with the
 * openssl CLI (Node has no certificate generator). Used to test TLS verification against a real server.
 */
export function makeTestCertificates(dir: string, name = 'server', ips: string[] = []): TestCertificates {
  const ca = join(dir, `${name}-ca`);
  const srv = join(dir, name);
  makeCa(ca, `/CN=vault-ops test CA ${name}`);
  signCertificate(dir, ca, name, '/CN=localhost', [
    `subjectAltName=IP:127.0.0.1,DNS:localhost${ips.map((ip) => `,IP:${ip}`).join('')}`,
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
  ]);
  return {
    caFile: `${ca}.pem`,
    caPem: readFileSync(`${ca}.pem`, 'utf8'),
    certFile: `${srv}.pem`,
    keyFile: `${srv}.key`,
  };
}

/**
 * A fresh EC key and a certificate for `subject` signed by the CA at `<caBase>.pem` / `.key`, with
 * the given X.509 extensions; written as `<dir>/<name>.pem` and `.key`.
 */
export function signCertificate(
  dir: string,
  caBase: string,
  name: string,
  subject: string,
  extensions: string[],
): { certFile: string; keyFile: string } {
  const base = join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.csr`,
    '-subj',
    subject,
  ]);
  writeFileSync(`${base}.ext`, `${extensions.join('\n')}\n`);
  run([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    `${caBase}.pem`,
    '-CAkey',
    `${caBase}.key`,
    '-CAcreateserial',
    '-out',
    `${base}.pem`,
    '-days',
    '2',
    '-extfile',
    `${base}.ext`,
  ]);
  return { certFile: `${base}.pem`, keyFile: `${base}.key` };
}

export interface ClientCertificates {
  /** The CA that signed the client certificate (what a cert auth role or a listener trusts). */
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and one client certificate it signed (`CN=<commonName>`, extendedKeyUsage
 * clientAuth), for TLS certificate auth and listeners that require client certificates.
 */
export function makeClientCertificates(dir: string, name: string, commonName: string): ClientCertificates {
  const ca = join(dir, `${name}-ca`);
  makeCa(ca, `/CN=vault-ops test client CA ${name}`);
  const client = signCertificate(dir, ca, name, `/CN=${commonName}`, [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
  return { caFile: `${ca}.pem`, caPem: readFileSync(`${ca}.pem`, 'utf8'), ...client };
}
