import nodeVault from 'node-vault';
import type { VaultConnection } from './connection.js';
import { withAddress } from './connection.js';
import { responseError, transportError } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'LIST';

export interface RequestOptions {
  /** JSON body for POST/PUT/PATCH. */
  body?: unknown;
  /** Send no token (sys/health, sys/seal-status, sys/leader, login endpoints). */
  unauthenticated?: boolean;
  timeoutMs?: number;
}

/** The raw node-vault instance type: we use only its generic `request`. */
type NodeVaultClient = ReturnType<typeof nodeVault>;

/**
 * The JSON half of Vault's API, through node-vault: one instance per address with the shared TLS
 * settings. Every failure becomes a VaultOpsError; the token never appears in an error.
 */
export class VaultClient {
  readonly connection: VaultConnection;
  /**
   * Shared with the clients made by forAddress: a renewal keeps the same token, but a re-login
   * (auth.ts) replaces it, and the leader's client must send the new one too.
   */
  private readonly tokenCell: { value: string | undefined };
  private readonly raw: NodeVaultClient;

  constructor(connection: VaultConnection, token?: string | { value: string | undefined }) {
    this.connection = connection;
    this.tokenCell = typeof token === 'object' ? token : { value: token };
    this.raw = nodeVault({
      endpoint: connection.address,
      // TLS verification is always on, whatever VAULT_SKIP_VERIFY says.
      rpDefaults: { strictSSL: true, timeout: connection.timeoutMs },
      requestOptions: {
        strictSSL: true,
        ...(connection.caPem ? { ca: connection.caPem } : {}),
        ...(connection.clientCertPem && connection.clientKeyPem
          ? { cert: connection.clientCertPem, key: connection.clientKeyPem }
          : {}),
        ...(connection.tlsServerName ? { agentOptions: { servername: connection.tlsServerName } } : {}),
        timeout: connection.timeoutMs,
      },
    } as Parameters<typeof nodeVault>[0]);
    // node-vault falls back to VAULT_TOKEN / VAULT_NAMESPACE from the environment: clear them so
    // that only our resolved settings apply (the token is sent per request, below).
    const mutable = this.raw as unknown as { token?: string | undefined; namespace?: string | undefined };
    mutable.token = undefined;
    mutable.namespace = connection.namespace;
  }

  get address(): string {
    return this.connection.address;
  }

  get token(): string | undefined {
    return this.tokenCell.value;
  }

  setToken(token: string | undefined): void {
    this.tokenCell.value = token;
  }

  /** The same credentials (one token, also after a re-login) and TLS settings against another node (the leader). */
  async forAddress(address: string): Promise<VaultClient> {
    return new VaultClient(await withAddress(this.connection, address), this.tokenCell);
  }

  async request<T = unknown>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const cleanPath = path.replace(/^\/+/, '');
    const headers: Record<string, string> = {};
    if (!options.unauthenticated && this.tokenCell.value) headers['X-Vault-Token'] = this.tokenCell.value;
    if (method === 'PATCH') headers['Content-Type'] = 'application/merge-patch+json';
    const request = {
      path: `/${cleanPath}`,
      method,
      headers,
      ...(options.body !== undefined ? { json: options.body } : {}),
      strictSSL: true,
      ...(this.connection.caPem ? { ca: this.connection.caPem } : {}),
      ...(this.connection.clientCertPem && this.connection.clientKeyPem
        ? { cert: this.connection.clientCertPem, key: this.connection.clientKeyPem }
        : {}),
      ...(this.connection.tlsServerName ? { agentOptions: { servername: this.connection.tlsServerName } } : {}),
      timeout: options.timeoutMs ?? this.connection.timeoutMs,
    };
    try {
      return (await this.raw.request(request)) as T;
    } catch (err) {
      const response = (err as { response?: { statusCode?: number; body?: unknown } }).response;
      if (response && typeof response.statusCode === 'number') {
        const body = response.body as { errors?: unknown } | undefined;
        const errors = Array.isArray(body?.errors) ? body.errors.map(String) : [];
        throw responseError(method, cleanPath.split('?')[0] ?? cleanPath, { status: response.statusCode, errors });
      }
      throw transportError(this.connection.address, err);
    }
  }

  read<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  write<T = unknown>(path: string, body: unknown = {}, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', path, { ...options, body });
  }

  patch<T = unknown>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', path, { ...options, body });
  }

  list<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('LIST', path, options);
  }

  delete<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }
}
