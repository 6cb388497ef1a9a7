import { readSecretFile } from '../io/option-file.js';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { Logger } from '../observability/logger.js';
import type { VaultClient } from './client.js';

export type AuthMethod = 'token' | 'kubernetes' | 'approle';

export interface AuthOptions {
  authMethod: AuthMethod;
  token?: string | undefined;
  authMount?: string | undefined;
  authRole?: string | undefined;
  jwtFile: string;
  roleId?: string | undefined;
  secretIdFile?: string | undefined;
}

interface AuthResponse {
  auth?: { client_token?: string; lease_duration?: number; renewable?: boolean };
}
interface LookupSelfResponse {
  data?: { ttl?: number; renewable?: boolean; expire_time?: string | null };
}

/** A logged-in token and what keeps it alive during long runs. */
export interface AuthSession {
  method: AuthMethod;
  ttlSeconds: number;
  renewable: boolean;
  /** Stop background renewal; call when the run ends. */
  close(): void;
}

/**
 * Why a Kubernetes login got a bare "permission denied". Vault and OpenBao name the reason when
 * their own checks fail (service account name, namespace, audience, an expired `exp`); a bare
 * refusal means the token passed them and the API server's TokenReview did not confirm it, which
 * the server does not explain (measured against kube-apiserver 1.37: a forged token, a deleted
 * ServiceAccount, a reviewer without system:auth-delegator all look the same).
 */
export const KUBERNETES_REVIEW_REFUSED =
  'permission denied: the Kubernetes API server did not confirm the token (TokenReview): it is forged or revoked, ' +
  "its ServiceAccount or Pod was deleted, or Vault's token reviewer may not review tokens (bind it to " +
  'system:auth-delegator)';

async function login(
  client: VaultClient,
  mount: string,
  body: Record<string, string>,
  what: string,
): Promise<AuthResponse> {
  try {
    return await client.write<AuthResponse>(`auth/${mount}/login`, body, { unauthenticated: true });
  } catch (err) {
    if (
      isVaultOpsError(err) &&
      (err.code === 'vault-permission' || err.code === 'vault-request' || err.code === 'not-found')
    ) {
      // Vault says why a login failed (wrong audience, unknown role, invalid secret id): pass it on.
      let why = err.detail ?? (err.code === 'not-found' ? `no auth method mounted at auth/${mount}` : 'rejected');
      if (what === 'Kubernetes' && why === 'permission denied') why = KUBERNETES_REVIEW_REFUSED;
      throw new VaultOpsError(
        'vault-auth',
        `${what} login to auth/${mount} failed: ${why}; check the role, the credential and the auth mount ` +
          `(--auth-mount)`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Authenticate the client with the configured method, register every credential with the secret
 * registry (so no log line can carry it), check the token works, and keep it renewed when it is
 * renewable and the run outlives part of its TTL.
 */
export async function authenticate(
  client: VaultClient,
  options: AuthOptions,
  deps: { secrets: SecretRegistry; logger: Logger },
): Promise<AuthSession> {
  let token: string | undefined;
  if (options.authMethod === 'token') {
    if (!options.token) {
      throw new VaultOpsError(
        'config',
        'no Vault token: set VAULT_TOKEN or --token, or choose --auth-method kubernetes|approle',
      );
    }
    token = options.token;
    deps.secrets.add(token);
  } else if (options.authMethod === 'kubernetes') {
    const jwt = await readSecretFile(options.jwtFile, 'Kubernetes service-account token', '--jwt-file', (v) =>
      deps.secrets.add(v),
    );
    const mount = options.authMount ?? 'kubernetes';
    const response = await login(client, mount, { role: options.authRole ?? '', jwt }, 'Kubernetes');
    token = response.auth?.client_token;
  } else {
    const secretId = await readSecretFile(options.secretIdFile ?? '', 'AppRole secret id', '--secret-id-file', (v) =>
      deps.secrets.add(v),
    );
    const mount = options.authMount ?? 'approle';
    const response = await login(client, mount, { role_id: options.roleId ?? '', secret_id: secretId }, 'AppRole');
    token = response.auth?.client_token;
  }
  if (!token)
    throw new VaultOpsError(
      'vault-auth',
      `Vault returned no token for ${options.authMethod} login: check the auth method's role configuration`,
    );
  deps.secrets.add(token);
  client.setToken(token);

  // lookup-self is in Vault's default policy: a 403 here means the token itself is bad.
  let lookup: LookupSelfResponse;
  try {
    lookup = await client.read<LookupSelfResponse>('auth/token/lookup-self');
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-permission') {
      throw new VaultOpsError(
        'vault-auth',
        options.authMethod === 'token'
          ? 'Vault rejected the token (permission denied on auth/token/lookup-self): it is invalid, expired or ' +
              'revoked; get a new one and set VAULT_TOKEN or --token'
          : `the token from ${options.authMethod} login was rejected by auth/token/lookup-self: check the role's ` +
              `token policies include 'default'`,
        { cause: err },
      );
    }
    throw err;
  }
  const ttlSeconds = lookup.data?.ttl ?? 0;
  const renewable = lookup.data?.renewable ?? false;
  let timer: NodeJS.Timeout | undefined;
  if (renewable && ttlSeconds > 0) {
    const schedule = (ttl: number) => {
      timer = setTimeout(
        async () => {
          try {
            const renewed = await client.write<AuthResponse>('auth/token/renew-self', {});
            const next = renewed.auth?.lease_duration ?? 0;
            deps.logger.debug({ ttlSeconds: next }, 'renewed Vault token');
            if (next > 0 && renewed.auth?.renewable !== false) schedule(next);
          } catch (err) {
            deps.logger.warn(
              { err: (err as Error).message },
              'could not renew the Vault token; the run continues until it expires',
            );
          }
        },
        Math.max(1, Math.floor(ttl * 0.66)) * 1000,
      );
      timer.unref();
    };
    schedule(ttlSeconds);
  }
  return {
    method: options.authMethod,
    ttlSeconds,
    renewable,
    close() {
      if (timer) clearTimeout(timer);
    },
  };
}
