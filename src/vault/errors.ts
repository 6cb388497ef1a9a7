import { VaultOpsError } from '../errors.js';

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const clientCertAlerts = /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)/;
const tlsCodes = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|EPROTO|ERR_SSL/;

/** Vault's answer to a request that did not succeed. */
export interface VaultResponseFailure {
  status: number;
  errors: string[];
}

/**
 * The first Vault error string, cut to one line: Vault's messages name paths, never secret values.
 * Multi-error answers ("1 error occurred:\n\t* the cause\n\n") keep their causes, joined.
 */
export function firstError(errors: string[]): string {
  const raw = errors[0] ?? '';
  const causes = [...raw.matchAll(/^\s*\*\s*(.+)$/gm)].map((m) => m[1]!.trim());
  const text = (
    /^\d+ errors? occurred:/.test(raw.trim()) && causes.length ? causes.join('; ') : (raw.split('\n')[0] ?? '')
  ).trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/** Turn a transport failure (no HTTP answer) into a typed error naming the address and the fix. */
export function transportError(address: string, err: unknown): VaultOpsError {
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code ?? '';
  // The server's alert about OUR certificate (a listener with tls_require_and_verify_client_cert), not its own.
  if (clientCertAlerts.test(code)) {
    return new VaultOpsError(
      'vault-tls',
      `${address} refused the TLS connection (${code}): it requires a client certificate signed by a CA it trusts; ` +
        'pass --client-cert FILE and --client-key FILE (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY)',
      { cause: err },
    );
  }
  if (tlsCodes.test(code)) {
    return new VaultOpsError(
      'vault-tls',
      `TLS verification of ${address} failed (${code}): pass the CA that signed the server certificate with ` +
        `--ca-cert / VAULT_CACERT, or --tls-server-name when the certificate names another host`,
      { cause: err },
    );
  }
  if (unreachableCodes.has(code) || /timeout/i.test((err as Error).message ?? '')) {
    return new VaultOpsError(
      'vault-unreachable',
      `cannot reach Vault at ${address} (${code || 'timeout'}): check --vault-addr / VAULT_ADDR and that the server ` +
        `is running and reachable`,
      { cause: err },
    );
  }
  return new VaultOpsError(
    'vault-unreachable',
    `request to Vault at ${address} failed (${code || (err as Error).message?.split('\n')[0] || 'unknown error'})`,
    { cause: err },
  );
}

/** Turn a non-2xx Vault answer into a typed error. */
export function responseError(method: string, path: string, failure: VaultResponseFailure): VaultOpsError {
  const detail = firstError(failure.errors);
  const what = `${method} ${path}`;
  if (failure.status === 503 && /sealed/i.test(detail)) {
    return new VaultOpsError(
      'vault-sealed',
      `Vault is sealed (${what}): unseal it (bao/vault operator unseal) and run again`,
    );
  }
  if (failure.status === 501 || /not initialized|not yet initialized/i.test(detail)) {
    return new VaultOpsError(
      'vault-uninitialized',
      `Vault is not initialized (${what}): initialize it (vault operator init) first`,
    );
  }
  if (/active cluster node not found|no active|leader not found/i.test(detail)) {
    return new VaultOpsError(
      'vault-no-leader',
      `Vault has no active leader (${what}): ${detail}; check raft peers and quorum (vault-ops status)`,
    );
  }
  const options = detail ? { detail } : {};
  if (failure.status === 403) {
    return new VaultOpsError(
      'vault-permission',
      `permission denied: ${what} (the token lacks a capability on this path, or is no longer valid); grant it with ` +
        `the policy from 'vault-ops setup policies'`,
      options,
    );
  }
  if (failure.status === 404) {
    return new VaultOpsError(
      'not-found',
      `Vault has nothing at ${path} (${what} answered 404${detail ? `: ${detail}` : ''})`,
      options,
    );
  }
  return new VaultOpsError(
    'vault-request',
    `Vault answered ${failure.status} to ${what}${detail ? `: ${detail}` : ''}`,
    options,
  );
}
