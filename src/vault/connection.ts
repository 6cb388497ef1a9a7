import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { VaultOpsError } from '../errors.js';

/** Everything needed to reach one Vault server; shared by the JSON client and the byte-stream client. */
export interface VaultConnection {
  /** Base address, e.g. https://vault.example:8200 (no trailing slash). */
  address: string;
  namespace?: string;
  /** PEM bundle of the CA(s) to trust, already read from --ca-cert. */
  caPem?: string;
  /** SNI / certificate name to expect when it differs from the address's host. */
  tlsServerName?: string;
  timeoutMs: number;
  /** Kept so that a redirect to another node (the leader) obeys the same http rule. */
  allowInsecureHttp: boolean;
}

export interface ConnectionInput {
  vaultAddr: string;
  namespace?: string;
  caCert?: string;
  tlsServerName?: string;
  allowInsecureHttp: boolean;
  requestTimeoutSeconds: number;
}

/** True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach by default. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/**
 * Tokens travel in headers: over plain http anyone on the path reads them. Allow http only to
 * loopback unless the user explicitly opts in.
 */
export function assertTransportAllowed(address: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new VaultOpsError('config', `invalid Vault address ${JSON.stringify(address)}: use a URL such as https://vault.example:8200`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new VaultOpsError('config', `unsupported scheme in Vault address ${url.origin}: use https:// (or http:// for loopback)`);
  }
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw new VaultOpsError(
      'insecure',
      `refusing plaintext http to ${url.host}: tokens would cross the network unencrypted; use https:// or pass --allow-insecure-http`,
    );
  }
  return url;
}

export async function resolveConnection(input: ConnectionInput): Promise<VaultConnection> {
  const url = assertTransportAllowed(input.vaultAddr, input.allowInsecureHttp);
  let caPem: string | undefined;
  if (input.caCert) {
    try {
      caPem = await readFile(input.caCert, 'utf8');
    } catch (err) {
      throw new VaultOpsError('config', `cannot read CA certificate ${input.caCert} (--ca-cert / VAULT_CACERT): ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { cause: err });
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new VaultOpsError('config', `CA certificate ${input.caCert} holds no PEM certificate (--ca-cert / VAULT_CACERT)`);
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
export function withAddress(connection: VaultConnection, address: string): VaultConnection {
  const url = assertTransportAllowed(address, connection.allowInsecureHttp);
  return { ...connection, address: url.origin + url.pathname.replace(/\/+$/, '') };
}
