import pg from 'pg';
import type { PostgresTestbed } from '../testbed/postgres.js';

/**
 * The database secrets engine over the testbed's PostgreSQL, as several tests set it up: a mount,
 * a connection, dynamic roles. `api` is the test's own request function (root token of its server).
 */
export type TestApi = (method: string, path: string, body?: unknown) => Promise<unknown>;

/** `CREATE ROLE` with a login and an expiry: what a dynamic role's credentials are. */
export const DYNAMIC_ROLE_STATEMENT =
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL ` + `'{{expiration}}';`;

export async function configurePostgresConnection(
  api: TestApi,
  db: PostgresTestbed,
  options: { mount: string; connection: string; username: string; password: string; mountIt?: boolean },
): Promise<void> {
  if (options.mountIt !== false) await api('POST', `sys/mounts/${options.mount}`, { type: 'database' });
  await api('POST', `${options.mount}/config/${options.connection}`, {
    plugin_name: 'postgresql-database-plugin',
    connection_url: `postgresql://{{username}}:{{password}}@127.0.0.1:${db.port}/postgres?sslmode=disable`,
    username: options.username,
    password: options.password,
    allowed_roles: '*',
  });
}

export async function addDynamicRole(
  api: TestApi,
  options: { mount: string; connection: string; role: string; defaultTtl?: string; maxTtl?: string },
): Promise<void> {
  await api('POST', `${options.mount}/roles/${options.role}`, {
    db_name: options.connection,
    creation_statements: [DYNAMIC_ROLE_STATEMENT],
    default_ttl: options.defaultTtl ?? '10m',
    max_ttl: options.maxTtl ?? '1h',
  });
}

/** Whether `user`/`password` log in to the testbed's PostgreSQL (plain TCP on loopback). */
export async function postgresLoginWorks(db: PostgresTestbed, user: string, password: string): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port: db.port,
    user,
    password,
    database: 'postgres',
    connectionTimeoutMillis: 5_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Mount a database secrets engine and wait until the mount's rotation queue is initialised. The
 * engine fills that queue from its static roles in a goroutine started at mount time; a static role
 * created while it runs races it: OpenBao 2.4 panics on a role it lists but cannot read yet (nil
 * pointer in populateQueue, the whole server exits 2), Vault 1.21 answers 500 "duplicate item".
 * The goroutine logs "starting periodic ticker" when it is done, so the test waits for that line.
 */
export async function mountDatabaseEngine(
  api: TestApi,
  server: { nodes: Array<{ process: { log(): Promise<string> } }> },
  mount: string,
): Promise<void> {
  const tickers = async () => ((await server.nodes[0]!.process.log()).match(/starting periodic ticker/g) ?? []).length;
  const before = await tickers();
  await api('POST', `sys/mounts/${mount}`, { type: 'database' });
  const deadline = Date.now() + 20_000;
  while ((await tickers()) <= before) {
    if (Date.now() > deadline) throw new Error(`the database mount ${mount} did not log its rotation queue start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
