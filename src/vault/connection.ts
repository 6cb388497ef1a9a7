import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';
import { isLoopbackHost, type AddressLookup } from '../io/loopback.js';
import { readOptionFile } from '../io/option-file.js';

export { isLoopbackHost } from '../io/loopback.js';

/** Everything needed to reach one Vault server; shared by the JSON client and the byte-stream client. */
export interface VaultConnection {
  /** Base address, e.g. https://vault.example:8200 (no trailing slash). */
  address: string;
  namespace?: string;
  /** PEM bundle of the CA(s) to trust, already read from --ca-cert. */
  caPem?: string;
  /** SNI / certificate name to expect when it differs from the address's host. */
  tlsServerName?: string;
  /** A client certificate and key (PEM) presented on every request: cert login, listeners that require one. */
  clientCertPem?: string;
  clientKeyPem?: string;
  timeoutMs: number;
  /** Kept so that a redirect to another node (the leader) obeys the same http rule. */
  allowInsecureHttp: boolean;
}

export interface ConnectionInput {
  vaultAddr: string;
  namespace?: string | undefined;
  caCert?: string | undefined;
  tlsServerName?: string | undefined;
  allowInsecureHttp: boolean;
  requestTimeoutSeconds: number;
  /** PEM files of a client certificate and its key, presented on every request (--client-cert/--client-key). */
  clientCert?: string | undefined;
  clientKey?: string | undefined;
}

/**
 * Tokens travel in headers: over plain http anyone on the path reads them. Allow http only to
 * loopback unless the user explicitly opts in.
 */
export async function assertTransportAllowed(
  address: string,
  allowInsecureHttp: boolean,
  lookup?: AddressLookup,
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new VaultOpsError(
      'config',
      `invalid Vault address ${JSON.stringify(address)}: use a URL such as https://vault.example:8200`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new VaultOpsError(
      'config',
      `unsupported scheme in Vault address ${url.origin}: use https:// (or http:// for loopback)`,
    );
  }
  if (url.protocol === 'http:' && !allowInsecureHttp && !(await isLoopbackHost(url.hostname, lookup))) {
    throw new VaultOpsError(
      'insecure',
      `refusing plaintext http to ${url.host}: it is not a loopback address (nor a name resolving only to one), so ` +
        `tokens would cross the network unencrypted; use https:// or pass --allow-insecure-http`,
    );
  }
  return url;
}

/**
 * The client certificate and key, read once: the same pair goes with every request (cert login reads it
 * at login, a listener with tls_require_and_verify_client_cert on every connection). The key is
 * registered as a secret before anything else sees it.
 */
async function readClientCertificate(
  input: ConnectionInput,
  registerSecret: (value: string) => void,
): Promise<{ clientCertPem: string; clientKeyPem: string } | undefined> {
  if (!input.clientCert || !input.clientKey) return undefined;
  const clientCertPem = await readOptionFile(input.clientCert, 'client certificate', '--client-cert');
  const clientKeyPem = await readOptionFile(input.clientKey, 'client key', '--client-key');
  registerSecret(clientKeyPem);
  // Each base64 line too: a fragment of the key in some message is as bad as the whole.
  for (const line of clientKeyPem.split('\n')) if (!line.startsWith('-----')) registerSecret(line);
  if (!clientCertPem.includes('-----BEGIN CERTIFICATE-----'))
    throw new VaultOpsError(
      'config',
      `client certificate ${input.clientCert} holds no PEM certificate (--client-cert)`,
    );
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(clientKeyPem))
    throw new VaultOpsError('config', `client key ${input.clientKey} holds no PEM private key (--client-key)`);
  return { clientCertPem, clientKeyPem };
}

export async function resolveConnection(
  input: ConnectionInput,
  registerSecret: (value: string) => void = () => undefined,
): Promise<VaultConnection> {
  const url = await assertTransportAllowed(input.vaultAddr, input.allowInsecureHttp);
  const clientCertificate = await readClientCertificate(input, registerSecret);
  let caPem: string | undefined;
  if (input.caCert) {
    try {
      caPem = await readFile(input.caCert, 'utf8');
    } catch (err) {
      throw new VaultOpsError(
        'config',
        `cannot read CA certificate ${input.caCert} (--ca-cert / VAULT_CACERT): ` +
          `${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: err },
      );
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new VaultOpsError(
        'config',
        `CA certificate ${input.caCert} holds no PEM certificate (--ca-cert / VAULT_CACERT)`,
      );
    }
  }
  return {
    address: url.origin + url.pathname.replace(/\/+$/, ''),
    ...(input.namespace ? { namespace: input.namespace } : {}),
    ...(caPem ? { caPem } : {}),
    ...(input.tlsServerName ? { tlsServerName: input.tlsServerName } : {}),
    ...clientCertificate,
    timeoutMs: Math.round(input.requestTimeoutSeconds * 1000),
    allowInsecureHttp: input.allowInsecureHttp,
  };
}

/** The same connection pointed at another node of the cluster (the leader), keeping TLS settings. */
export async function withAddress(connection: VaultConnection, address: string): Promise<VaultConnection> {
  const url = await assertTransportAllowed(address, connection.allowInsecureHttp);
  return { ...connection, address: url.origin + url.pathname.replace(/\/+$/, '') };
}
