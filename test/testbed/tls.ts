import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
}

/**
 * A throw-away CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI
 * (Node has no certificate generator). Used to test TLS verification against a real server.
 */
export function makeTestCertificates(dir: string, name = 'server'): TestCertificates {
  const ca = join(dir, `${name}-ca`);
  const srv = join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  run([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=vault-ops test CA ${name}`,
  ]);
  run([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${srv}.key`,
    '-out',
    `${srv}.csr`,
    '-subj',
    '/CN=localhost',
  ]);
  writeFileSync(
    `${srv}.ext`,
    [
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      '',
    ].join('\n'),
  );
  run([
    'x509',
    '-req',
    '-in',
    `${srv}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${srv}.pem`,
    '-days',
    '2',
    '-extfile',
    `${srv}.ext`,
  ]);
  return {
    caFile: `${ca}.pem`,
    caPem: readFileSync(`${ca}.pem`, 'utf8'),
    certFile: `${srv}.pem`,
    keyFile: `${srv}.key`,
  };
}
