import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { Logger } from '../observability/logger.js';
import type { VaultClient } from './client.js';
import { loginFailure } from './login-errors.js';
import { loginSource, type AuthMethod, type LoginDeps, type LoginOptions, type LoginRequest } from './login-methods.js';

export type { AuthMethod } from './login-methods.js';

export interface AuthOptions extends Omit<LoginOptions, 'authMethod'> {
  authMethod: AuthMethod;
  token?: string | undefined;
}

export interface AuthDeps {
  secrets: SecretRegistry;
  logger: Logger;
  /** Where --jwt-env names its variable (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A hidden prompt for ldap/userpass passwords, when a person is at a terminal. */
  askPassword?: LoginDeps['askPassword'];
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

async function login(client: VaultClient, request: LoginRequest): Promise<AuthResponse> {
  try {
    return await client.write<AuthResponse>(request.path, request.body, { unauthenticated: true });
  } catch (err) {
    if (
      isVaultOpsError(err) &&
      (err.code === 'vault-permission' || err.code === 'vault-request' || err.code === 'not-found')
    )
      throw loginFailure(request, err);
    throw err;
  }
}

/** A login with the method's credential; the token it returns is registered before anyone sees it. */
async function loginOnce(
  client: VaultClient,
  next: () => Promise<LoginRequest>,
  method: AuthMethod,
  secrets: SecretRegistry,
): Promise<{ token: string; ttlSeconds: number }> {
  const response = await login(client, await next());
  const token = response.auth?.client_token;
  if (!token)
    throw new VaultOpsError(
      'vault-auth',
      `Vault returned no token for ${method} login: check the auth method's role configuration`,
    );
  secrets.add(token);
  return { token, ttlSeconds: response.auth?.lease_duration ?? 0 };
}

/**
 * Authenticate the client with the configured method, register every credential with the secret
 * registry (so no log line can carry it), check the token works, and keep it renewed when it is
 * renewable and the run outlives part of its TTL.
 */
export async function authenticate(client: VaultClient, options: AuthOptions, deps: AuthDeps): Promise<AuthSession> {
  const method = options.authMethod;
  let relogin: (() => Promise<number>) | undefined;
  if (method === 'token') {
    if (!options.token) {
      throw new VaultOpsError(
        'config',
        'no Vault token: set VAULT_TOKEN or --token, or choose --auth-method ' +
          'kubernetes|approle|jwt|cert|ldap|userpass',
      );
    }
    deps.secrets.add(options.token);
    client.setToken(options.token);
  } else {
    const next = loginSource(
      { ...options, authMethod: method },
      { register: (v) => deps.secrets.add(v), env: deps.env ?? process.env, askPassword: deps.askPassword },
    );
    // Logging in again gives a fresh token when the old one can no longer be renewed (its max TTL).
    relogin = async () => {
      const { token, ttlSeconds } = await loginOnce(client, next, method, deps.secrets);
      client.setToken(token);
      return ttlSeconds;
    };
    await relogin();
  }

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
          : `the token from ${method} login was rejected by auth/token/lookup-self: check the role's ` +
              `token policies include 'default'`,
        { cause: err },
      );
    }
    throw err;
  }
  const ttlSeconds = lookup.data?.ttl ?? 0;
  const renewable = lookup.data?.renewable ?? false;
  const timer = keepAlive(client, { ttlSeconds, renewable, relogin }, deps.logger);
  return {
    method: options.authMethod,
    ttlSeconds,
    renewable,
    close() {
      timer.stop();
    },
  };
}

/**
 * Keep the token alive for a long run: renew it at two thirds of its TTL; when renewal fails or
 * comes back shorter than the TTL before (the token nears its max TTL), log in again with the
 * method's credential (token auth cannot: the run goes on until the token expires).
 */
function keepAlive(
  client: VaultClient,
  start: { ttlSeconds: number; renewable: boolean; relogin: (() => Promise<number>) | undefined },
  logger: Logger,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const { relogin } = start;
  const reloginOrWarn = async (why: string): Promise<number> => {
    if (!relogin) {
      logger.warn({ why }, 'could not renew the Vault token; the run continues until it expires');
      return 0;
    }
    try {
      const ttl = await relogin();
      logger.debug({ why, ttlSeconds: ttl }, 'logged in to Vault again');
      return ttl;
    } catch (err) {
      logger.warn({ why, err: (err as Error).message }, 'could not log in to Vault again; the run continues');
      return 0;
    }
  };
  const schedule = (ttl: number, renewable: boolean) => {
    if (stopped || ttl <= 0 || (!renewable && !relogin)) return;
    timer = setTimeout(
      async () => {
        let next = 0;
        let nextRenewable = true;
        if (renewable) {
          try {
            const renewed = await client.write<AuthResponse>('auth/token/renew-self', {});
            next = renewed.auth?.lease_duration ?? 0;
            nextRenewable = renewed.auth?.renewable !== false;
            logger.debug({ ttlSeconds: next }, 'renewed Vault token');
            if (relogin && (next < ttl || !nextRenewable)) next = await reloginOrWarn('the token nears its max TTL');
          } catch (err) {
            next = await reloginOrWarn(`renewal failed: ${(err as Error).message}`);
          }
        } else {
          next = await reloginOrWarn('the token is not renewable');
        }
        schedule(next, nextRenewable);
      },
      // Milliseconds: a TTL of a second or two (short-lived roles) still leaves time to act.
      Math.max(200, Math.floor(ttl * 660)),
    );
    timer.unref();
  };
  schedule(start.ttlSeconds, start.renewable);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
