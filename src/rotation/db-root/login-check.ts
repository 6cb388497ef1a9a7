import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { VaultOpsError } from '../../errors.js';
import { noTlsRefusal, postgresTransport, probeTransport, tlsFailure, type TrustedCa } from './postgres-tls.js';

/** Where a login check connects: host, port, database and TLS mode, from the connection's config. */
export interface LoginEndpoint {
  host: string;
  port: number;
  database?: string;
  /** libpq-style sslmode (`disable`, `require`, `verify-full`…); undefined when the URL names none. */
  sslmode?: string;
  /**
   * The host name the database's certificate must carry (verify-full): the connection_url's host,
   * kept when --login-check-address sends the checks elsewhere (a port-forward). Default: `host`.
   */
  tlsServerName?: string;
}

export interface DatabaseCredentials {
  username: string;
  password: string;
}

export type LoginCheckResult =
  | { outcome: 'ok'; detail: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'unsupported'; reason: string };

/** How logins would travel to the endpoint, found without sending any credential. */
export type TransportCheckResult = { outcome: 'ok'; detail: string } | { outcome: 'unreachable'; reason: string };

/**
 * Proves that credentials log in to the database a Vault connection points at. One
 * implementation per database family, chosen by the connection's plugin name. Results name the
 * user and the reason, never the password.
 */
export interface DatabaseLoginCheck {
  /** e.g. 'postgresql'. */
  readonly family: string;
  supports(pluginName: string): boolean;
  /** Read host/port/database from the connection details Vault returns (password already removed). */
  endpoint(connectionDetails: Record<string, unknown>): LoginEndpoint;
  /**
   * Log in with the credentials. Throws (a VaultOpsError, before any password is sent) when the
   * transport is refused: no TLS where a password would need it, or a failed certificate check.
   */
  check(endpoint: LoginEndpoint, credentials: DatabaseCredentials, signal?: AbortSignal): Promise<LoginCheckResult>;
  /**
   * Optional: without sending any credential, how logins would travel to the endpoint ("over
   * TLSv1.3 (…)"). Throws what `check` would throw for the transport.
   */
  transport?(endpoint: LoginEndpoint): Promise<TransportCheckResult>;
}

/**
 * The host, port, database and sslmode of a `connection_url`, either URL form
 * (`postgresql://{{username}}:{{password}}@host:5432/db?sslmode=disable`) or key/value form
 * (`host=h port=5432 dbname=db sslmode=disable`). Template placeholders are ignored.
 */
export function parseConnectionUrl(connectionUrl: string, defaultPort: number): LoginEndpoint {
  const trimmed = connectionUrl.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    // Placeholders such as {{username}} are not valid URL user info for every parser: drop the user info.
    const withoutUser = trimmed.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
    const url = new URL(withoutUser);
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    const sslmode = url.searchParams.get('sslmode') ?? undefined;
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : defaultPort,
      ...(database ? { database } : {}),
      ...(sslmode ? { sslmode } : {}),
    };
  }
  const pairs = new Map<string, string>();
  for (const match of trimmed.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    pairs.set(match[1]!, match[2]!.replace(/^'|'$/g, ''));
  }
  const host = pairs.get('host');
  if (!host) throw new Error('connection_url names no host');
  const sslmode = pairs.get('sslmode');
  const database = pairs.get('dbname');
  return {
    host,
    port: pairs.has('port') ? Number(pairs.get('port')) : defaultPort,
    ...(database ? { database } : {}),
    ...(sslmode ? { sslmode } : {}),
  };
}

export interface PostgresLoginCheckOptions {
  /** Connect timeout per check (default 10 s). */
  timeoutMs?: number;
  /** --db-ca-cert: PEM file of the CA that signed the database's certificate. */
  caFile?: string;
}

/**
 * PostgreSQL through the `pg` package: connect, `select current_user`, disconnect. Passwords
 * travel over TLS unless the connection_url says `sslmode=disable` (postgres-tls.ts says why
 * `prefer` and a missing sslmode mean "TLS required" here).
 */
export class PostgresLoginCheck implements DatabaseLoginCheck {
  readonly family = 'postgresql';
  private readonly timeoutMs: number;
  private ca: Promise<TrustedCa | undefined> | undefined;

  constructor(private readonly options: PostgresLoginCheckOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  supports(pluginName: string): boolean {
    return /^postgresql-database-plugin/.test(pluginName);
  }

  endpoint(details: Record<string, unknown>): LoginEndpoint {
    const url = details.connection_url;
    if (typeof url !== 'string' || url === '') throw new Error('the connection has no connection_url');
    return parseConnectionUrl(url, 5432);
  }

  /** The CA of --db-ca-cert, read once. */
  private trustedCa(): Promise<TrustedCa | undefined> {
    this.ca ??= loadTrustedCa(this.options.caFile);
    return this.ca;
  }

  async transport(endpoint: LoginEndpoint): Promise<TransportCheckResult> {
    const ca = await this.trustedCa();
    const transport = postgresTransport(endpoint, ca);
    const probe = await probeTransport(endpoint, transport, Math.min(this.timeoutMs, 5_000));
    switch (probe.outcome) {
      case 'plain':
        return { outcome: 'ok', detail: transport.describe };
      case 'tls':
        return { outcome: 'ok', detail: transport.describe.replace(/^over TLS/, `over ${probe.protocol}`) };
      case 'no-tls':
        throw noTlsRefusal(endpoint, transport);
      case 'tls-failed':
        throw tlsFailure(endpoint, transport, ca, probe.error);
      case 'unreachable':
        return { outcome: 'unreachable', reason: probe.reason };
    }
  }

  async check(endpoint: LoginEndpoint, credentials: DatabaseCredentials): Promise<LoginCheckResult> {
    const ca = await this.trustedCa();
    const transport = postgresTransport(endpoint, ca);
    const client = new pg.Client({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database ?? 'postgres',
      user: credentials.username,
      password: credentials.password,
      connectionTimeoutMillis: this.timeoutMs,
      // With `ssl` set, pg sends the SSLRequest first and never falls back to plain text: on the
      // server's "no TLS" it fails before the startup message (no user name, no password).
      ssl: transport.tls,
    });
    client.on('error', () => undefined);
    try {
      try {
        await client.connect();
      } catch (err) {
        if (transport.tls !== false && isNoTls(err)) throw noTlsRefusal(endpoint, transport);
        if (transport.tls !== false && isTlsError(err)) throw tlsFailure(endpoint, transport, ca, err);
        throw err;
      }
      const result = await client.query<{ current_user: string }>('select current_user');
      const user = result.rows[0]?.current_user;
      if (user !== credentials.username)
        return { outcome: 'failed', reason: `logged in but current_user is ${user ?? 'unknown'}` };
      return {
        outcome: 'ok',
        detail:
          `logged in to ${endpoint.host}:${endpoint.port} as ${user} ` +
          `${transport.tls === false ? 'in plain text' : 'over TLS'}`,
      };
    } catch (err) {
      if (err instanceof VaultOpsError) throw err;
      return { outcome: 'failed', reason: describePgError(err, credentials.password) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Read and sanity-check the --db-ca-cert file. */
async function loadTrustedCa(file: string | undefined): Promise<TrustedCa | undefined> {
  if (!file) return undefined;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `cannot read --db-ca-cert ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'}): give the PEM file of ` +
        `the CA that signed the database's certificate`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new VaultOpsError(
      'config',
      `--db-ca-cert ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the CA certificate in PEM ` +
        `form`,
    );
  return { file, pem };
}

/** pg's error when the server answers "N" to the SSLRequest. */
function isNoTls(err: unknown): boolean {
  return /server does not support SSL connections/i.test((err as Error)?.message ?? '');
}

/** Errors of the TLS layer (handshake, certificate chain, host name), as opposed to PostgreSQL's or the network's. */
function isTlsError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string };
  const code = typeof e?.code === 'string' ? e.code : '';
  return (
    /^ERR_(TLS|SSL)_|CERT|SELF_SIGNED|UNABLE_TO_|DEPTH_ZERO/.test(code) ||
    /error establishing an SSL connection/i.test(e?.message ?? '')
  );
}

/** The error's SQLSTATE and message, with the password cut out should a driver ever echo it. */
function describePgError(err: unknown, password: string): string {
  const e = err as { code?: string; message?: string };
  const text = `${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`;
  return password ? text.split(password).join('[REDACTED]') : text;
}

/** MySQL family: recognised, but the login proof is not implemented yet (mysql2 is not a dependency). */
export class MysqlLoginCheck implements DatabaseLoginCheck {
  readonly family = 'mysql';

  supports(pluginName: string): boolean {
    return /^mysql(-aurora|-rds|-legacy)?-database-plugin/.test(pluginName);
  }

  endpoint(details: Record<string, unknown>): LoginEndpoint {
    const url = typeof details.connection_url === 'string' ? details.connection_url : '';
    const at = /@tcp\(([^:)]+)(?::(\d+))?\)\/?([^?]*)/.exec(url);
    return {
      host: at?.[1] ?? 'unknown',
      port: at?.[2] ? Number(at[2]) : 3306,
      ...(at?.[3] ? { database: at[3] } : {}),
    };
  }

  async check(): Promise<LoginCheckResult> {
    return {
      outcome: 'unsupported',
      reason:
        "MySQL login checks are not supported yet (issuing and revoking credentials still proves that Vault's root " +
        'works)',
    };
  }
}

/** The login checks of a run; `caFile` is --db-ca-cert. */
export function defaultLoginChecks(options: { caFile?: string } = {}): DatabaseLoginCheck[] {
  return [new PostgresLoginCheck(options.caFile ? { caFile: options.caFile } : {}), new MysqlLoginCheck()];
}

/** Whether anything accepts TCP connections at the endpoint (tells "database down" from "password rejected"). */
export async function tcpReachable(
  endpoint: LoginEndpoint,
  timeoutMs = 3_000,
): Promise<{ reachable: boolean; reason?: string }> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.host, port: endpoint.port });
    const done = (result: { reachable: boolean; reason?: string }) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done({ reachable: false, reason: 'timeout' }));
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (err: NodeJS.ErrnoException) => done({ reachable: false, reason: err.code ?? err.message }));
  });
}
