import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { QueryResult, QueryResultRow } from 'pg';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';
import type { TestCertificates } from './tls.js';

const execFileAsync = promisify(execFile);

export interface PostgresTestbed {
  host: '127.0.0.1';
  port: number;
  superuser: 'postgres';
  password: string;
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/postgres */
  url: string;
  /** `postgres --version`, e.g. "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
  version: string;
  binDir: string;
  /** Temp dir holding data/ and the unix socket dir (removed by stop()). */
  dir: string;
  dataDir: string;
  socketDir: string;
  process: ServerProcess;
  /** Set when started with `tls`: the certificates it serves; clients verify against `caPem`. */
  tls?: TestCertificates;
  /**
   * What a `pg` client needs for `ssl` to reach this server (false without TLS; verify-full against the test CA with
   * it).
   */
  clientSsl: false | { ca: string; rejectUnauthorized: true };
  /** Run `sql` as the superuser on database `postgres`. */
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  stop(): Promise<void>;
}

function hasServerBinaries(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

/**
 * The PostgreSQL server binaries: VAULT_OPS_PG_BIN, else the newest /usr/lib/postgresql/<N>/bin
 * (Debian/Ubuntu layout), else `initdb`'s directory on PATH. Throws (never skips) when none.
 */
export function postgresBinDir(): string {
  const fromEnv = process.env.VAULT_OPS_PG_BIN;
  if (fromEnv) {
    if (!hasServerBinaries(fromEnv)) throw new Error(`testbed: VAULT_OPS_PG_BIN=${fromEnv} has no initdb/postgres`);
    return fromEnv;
  }
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((name) => /^\d+(\.\d+)?$/.test(name) && hasServerBinaries(join(base, name, 'bin')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  try {
    const initdb = execFileSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).trim();
    if (initdb) {
      const dir = initdb.slice(0, initdb.lastIndexOf('/'));
      if (hasServerBinaries(dir)) return dir;
    }
  } catch {
    /* not on PATH */
  }
  throw new Error(
    'testbed: no PostgreSQL server binaries (initdb, postgres): install them (Debian: `apt-get install postgresql`) ' +
      'or set VAULT_OPS_PG_BIN',
  );
}

interface RunAs {
  uid: number;
  gid: number;
  /** Prefix for a command so it runs as that user (exec, not fork: signals reach the server). */
  wrap(command: string, args: string[]): { command: string; args: string[] };
}

/**
 * PostgreSQL refuses to run as root. When we are root, run initdb/postgres as `nobody` through
 * setpriv (which execs, so SIGINT goes straight to the postmaster).
 */
function unprivilegedUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = process.env.VAULT_OPS_PG_USER ?? 'nobody';
  let uid: number;
  let gid: number;
  let setpriv: string;
  try {
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  } catch {
    throw new Error(
      `testbed: running as root and there is no user \`${user}\` to run PostgreSQL as (set VAULT_OPS_PG_USER)`,
    );
  }
  try {
    setpriv = execFileSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('testbed: running as root needs `setpriv` (util-linux) to run PostgreSQL as an unprivileged user');
  }
  return {
    uid,
    gid,
    wrap: (command, args) => ({
      command: setpriv,
      args: [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', command, ...args],
    }),
  };
}

/** The environment for initdb/postgres: ours without PG* variables that could redirect them. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
  return env;
}

async function prepareDir(runAs: RunAs | undefined): Promise<{ dir: string; dataDir: string; socketDir: string }> {
  const dir = await makeTempDir('postgres');
  await chmod(dir, 0o700);
  const socketDir = join(dir, 'run');
  await mkdir(socketDir, { mode: 0o700 });
  if (runAs) {
    await chown(dir, runAs.uid, runAs.gid);
    await chown(socketDir, runAs.uid, runAs.gid);
  }
  // The socket path (…/run/.s.PGSQL.NNNNN) must fit sun_path (107 bytes).
  if (Buffer.byteLength(join(socketDir, '.s.PGSQL.65535')) > 107) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`testbed: temp dir ${dir} is too long for a unix socket path; set TMPDIR to a shorter directory`);
  }
  return { dir, dataDir: join(dir, 'data'), socketDir };
}

async function initdb(binDir: string, dir: string, dataDir: string, password: string, runAs: RunAs | undefined) {
  const pwfile = join(dir, 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
  const args = [
    '-D',
    dataDir,
    '-U',
    'postgres',
    `--pwfile=${pwfile}`,
    '--auth=scram-sha-256',
    '--no-locale',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ];
  const { command, args: argv } = runAs
    ? runAs.wrap(join(binDir, 'initdb'), args)
    : { command: join(binDir, 'initdb'), args };
  try {
    await execFileAsync(command, argv, { cwd: dir, env: serverEnv(), maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `testbed: initdb failed: ${command} ${argv.join(' ')}\n${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`,
    );
  } finally {
    await rm(pwfile, { force: true });
  }
}

export interface StartPostgresOptions {
  /**
   * Serve TLS with these certificates (test/testbed/tls.ts makes a throw-away CA and a server
   * certificate for 127.0.0.1) and accept TCP logins over TLS only: pg_hba.conf has `hostssl`
   * lines and no `host` line, so a plain-text login is rejected by the server.
   */
  tls?: TestCertificates;
}

/** pg_hba.conf for a TLS-only server: the unix socket, and TCP only through TLS. */
const HOSTSSL_ONLY_HBA = `# vault-ops testbed: TCP logins only over TLS
local   all  all                  scram-sha-256
hostssl all  all  127.0.0.1/32    scram-sha-256
hostssl all  all  ::1/128         scram-sha-256
`;

/**
 * Copy the certificate and key into the cluster's dir, owned by the server's user (PostgreSQL insists on a private key
 * of mode 0600).
 */
async function installTls(
  dir: string,
  tls: TestCertificates,
  runAs: RunAs | undefined,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await copyFile(tls.certFile, cert);
  await copyFile(tls.keyFile, key);
  await chmod(cert, 0o644);
  await chmod(key, 0o600);
  if (runAs) {
    await chown(cert, runAs.uid, runAs.gid);
    await chown(key, runAs.uid, runAs.gid);
  }
  return { cert, key };
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresTestbed> {
  const binDir = postgresBinDir();
  const version = execFileSync(join(binDir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  const runAs = unprivilegedUser();
  const password = randomBytes(24).toString('hex');

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const { dir, dataDir, socketDir } = await prepareDir(runAs);
    try {
      await initdb(binDir, dir, dataDir, password, runAs);
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const port = await freePort();
    const tlsArgs: string[] = [];
    if (options.tls) {
      const files = await installTls(dir, options.tls, runAs);
      const hba = join(dataDir, 'pg_hba.conf');
      await writeFile(hba, HOSTSSL_ONLY_HBA);
      if (runAs) await chown(hba, runAs.uid, runAs.gid);
      tlsArgs.push('-c', 'ssl=on', '-c', `ssl_cert_file=${files.cert}`, '-c', `ssl_key_file=${files.key}`);
    }
    const serverArgs = [
      ...tlsArgs,
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir}`,
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'logging_collector=off',
    ];
    const postgresBin = join(binDir, 'postgres');
    const { command, args } = runAs ? runAs.wrap(postgresBin, serverArgs) : { command: postgresBin, args: serverArgs };
    const server = await startServerProcess({ name: 'postgres', command, args, env: serverEnv(), dir });

    const clientSsl = options.tls ? ({ ca: options.tls.caPem, rejectUnauthorized: true } as const) : (false as const);
    const connection = { host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', ssl: clientSsl };
    try {
      await waitUntil(
        `postgres on 127.0.0.1:${port}`,
        async () => {
          const client = new pg.Client({ ...connection, connectionTimeoutMillis: 2_000 });
          client.on('error', () => {});
          try {
            await client.connect();
            await client.query('select 1');
            return true;
          } finally {
            await client.end().catch(() => {});
          }
        },
        { server, timeoutMs: 60_000, intervalMs: 200 },
      );
    } catch (err) {
      const log = await server.log();
      await fastShutdown(server);
      lastError = err;
      if (/address already in use|could not bind/i.test(log) && attempt < 3) continue; // lost the port race
      throw err;
    }

    const pool = new pg.Pool({ ...connection, max: 4 });
    pool.on('error', () => {}); // idle clients dropped at shutdown
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      superuser: 'postgres',
      password,
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      version,
      binDir,
      dir,
      dataDir,
      socketDir,
      process: server,
      ...(options.tls ? { tls: options.tls } : {}),
      clientSsl,
      query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]) {
        return pool.query<R>(sql, params);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await pool.end().catch(() => {});
        await fastShutdown(server);
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error('testbed: postgres did not start');
}

/**
 * SIGINT is PostgreSQL's "fast" shutdown (SIGTERM, which ServerProcess.stop() sends by default, waits
 * for every client to disconnect). Sent through stop() so that the exit counts as expected (no
 * "exited while in use" report); stop() reaps it (SIGKILL after 10 s) and removes the temp dir.
 */
async function fastShutdown(server: ServerProcess): Promise<void> {
  await server.stop('SIGINT');
}
