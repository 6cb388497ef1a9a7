import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Mutual TLS for the scratch server's API. Any local user can connect to a port on 127.0.0.1, and
 * so could race the drill to `sys/init` or the recovery-token endpoints. A unix socket in the
 * drill's 0700 dir would shut them out, but both servers need a TCP listener for raft's cluster
 * port, and a TCP listener always serves the API too. So the API requires a client certificate
 * (`tls_require_and_verify_client_cert`) from a CA made for this one drill, whose key never leaves
 * memory; only the drill (and whoever can read its 0700 dir, where the pair is kept) holds a
 * client certificate.
 */
export interface ScratchTls {
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** Files the server's listener stanza names (0600, in the drill's dir). */
  serverCertFile: string;
  serverKeyFile: string;
  clientCaFile: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** The drill's certificates live for its run; a day covers any drill and clock skew. */
const VALIDITY_MS = 24 * 3600 * 1000;

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

export async function makeScratchTls(dir: string): Promise<ScratchTls> {
  // Loaded only by the drill: @peculiar/x509 needs the reflect-metadata polyfill (tsyringe).
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  // Its types name the DOM's Crypto and CryptoKey; Node's webcrypto objects are those (hence the casts below).
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(Date.now() + VALIDITY_MS);
  const serial = () =>
    Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1');
  const keys = () => webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

  const caKeys = await keys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=vault-ops restore drill CA',
    notBefore,
    notAfter,
    keys: caKeys as never,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leaf = async (cn: string, usage: string, san?: InstanceType<typeof x509.SubjectAlternativeNameExtension>) => {
    const leafKeys = await keys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${cn}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey as never,
      signingKey: caKeys.privateKey as never,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        ...(san ? [san] : []),
      ],
    });
    return { certPem: cert.toString('pem'), keyPem: await exportKeyPem(leafKeys.privateKey) };
  };
  const server = await leaf(
    '127.0.0.1',
    '1.3.6.1.5.5.7.3.1',
    new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
  );
  const client = await leaf('vault-ops restore drill', '1.3.6.1.5.5.7.3.2');

  const files = {
    serverCertFile: join(dir, 'tls-server.pem'),
    serverKeyFile: join(dir, 'tls-server-key.pem'),
    clientCaFile: join(dir, 'tls-ca.pem'),
  };
  await writeFile(files.serverCertFile, server.certPem, { mode: 0o600 });
  await writeFile(files.serverKeyFile, server.keyPem, { mode: 0o600 });
  await writeFile(files.clientCaFile, ca.toString('pem'), { mode: 0o600 });
  // The client's pair too, for whoever may read the dir anyway (an operator debugging a drill).
  await writeFile(join(dir, 'tls-client.pem'), client.certPem, { mode: 0o600 });
  await writeFile(join(dir, 'tls-client-key.pem'), client.keyPem, { mode: 0o600 });
  return { caPem: ca.toString('pem'), clientCertPem: client.certPem, clientKeyPem: client.keyPem, ...files };
}
