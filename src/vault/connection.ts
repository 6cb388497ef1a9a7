import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';
import { isLoopbackHost, type AddressLookup } from '../io/loopback.js';

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
  /** A client certificate and key (PEM) for servers that require one (the drill's scratch server). */
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

export async function resolveConnection(input: ConnectionInput): Promise<VaultConnection> {
  const url = await assertTransportAllowed(input.vaultAddr, input.allowInsecureHttp);
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
    timeoutMs: Math.round(input.requestTimeoutSeconds * 1000),
    allowInsecureHttp: input.allowInsecureHttp,
  };
}

/** The same connection pointed at another node of the cluster (the leader), keeping TLS settings. */
export async function withAddress(connection: VaultConnection, address: string): Promise<VaultConnection> {
  const url = await assertTransportAllowed(address, connection.allowInsecureHttp);
  return { ...connection, address: url.origin + url.pathname.replace(/\/+$/, '') };
}
