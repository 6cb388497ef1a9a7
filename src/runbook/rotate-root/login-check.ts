import pg from 'pg';

/** Where a login check connects: host, port, database and TLS mode, from the connection's config. */
export interface LoginEndpoint {
  host: string;
  port: number;
  database?: string;
  /** libpq-style sslmode (`disable`, `require`, `verify-full`…); undefined when the URL names none. */
  sslmode?: string;
}

export interface DatabaseCredentials {
  username: string;
  password: string;
}

export type LoginCheckResult =
  | { outcome: 'ok'; detail: string }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'unsupported'; reason: string };

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
  check(endpoint: LoginEndpoint, credentials: DatabaseCredentials, signal?: AbortSignal): Promise<LoginCheckResult>;
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

/** PostgreSQL through the `pg` package: connect, `select current_user`, disconnect. */
export class PostgresLoginCheck implements DatabaseLoginCheck {
  readonly family = 'postgresql';

  constructor(private readonly timeoutMs = 10_000) {}

  supports(pluginName: string): boolean {
    return /^postgresql-database-plugin/.test(pluginName);
  }

  endpoint(details: Record<string, unknown>): LoginEndpoint {
    const url = details.connection_url;
    if (typeof url !== 'string' || url === '') throw new Error('the connection has no connection_url');
    return parseConnectionUrl(url, 5432);
  }

  async check(endpoint: LoginEndpoint, credentials: DatabaseCredentials): Promise<LoginCheckResult> {
    const client = new pg.Client({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database ?? 'postgres',
      user: credentials.username,
      password: credentials.password,
      connectionTimeoutMillis: this.timeoutMs,
      // TLS verification stays on whenever TLS is asked for; no TLS when the URL disables it.
      ssl: tlsFor(endpoint.sslmode),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const result = await client.query<{ current_user: string }>('select current_user');
      const user = result.rows[0]?.current_user;
      if (user !== credentials.username) return { outcome: 'failed', reason: `logged in but current_user is ${user ?? 'unknown'}` };
      return { outcome: 'ok', detail: `logged in to ${endpoint.host}:${endpoint.port} as ${user}` };
    } catch (err) {
      return { outcome: 'failed', reason: describePgError(err, credentials.password) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function tlsFor(sslmode: string | undefined): false | { rejectUnauthorized: true } {
  if (!sslmode || sslmode === 'disable' || sslmode === 'allow' || sslmode === 'prefer') return false;
  return { rejectUnauthorized: true };
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
    return { host: at?.[1] ?? 'unknown', port: at?.[2] ? Number(at[2]) : 3306, ...(at?.[3] ? { database: at[3] } : {}) };
  }

  async check(): Promise<LoginCheckResult> {
    return { outcome: 'unsupported', reason: 'MySQL login checks are not supported yet (issuing and revoking credentials still proves that Vault\'s root works)' };
  }
}

export const defaultLoginChecks: readonly DatabaseLoginCheck[] = [new PostgresLoginCheck(), new MysqlLoginCheck()];

/** Whether anything accepts TCP connections at the endpoint (tells "database down" from "password rejected"). */
export async function tcpReachable(endpoint: LoginEndpoint, timeoutMs = 3_000): Promise<{ reachable: boolean; reason?: string }> {
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
