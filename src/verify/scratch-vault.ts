import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { VaultOpsError } from '../errors.js';
import { VaultClient } from '../vault/client.js';
import { makeScratchTls, type ScratchTls } from './scratch-tls.js';

export interface ScratchVaultOptions {
  /** The vault/bao binary to run. */
  binary: string;
  /** Where the 0700 temp dir goes (default: the OS temp dir). */
  tempRoot?: string;
  /** API port (the cluster listener takes the next one); default: two free ports. */
  apiPort?: number;
  /**
   * The source's seal stanza (HCL) for auto-unseal snapshots. Never used for the first start:
   * the scratch server is always initialised with a Shamir key of its own, so that restored data
   * (sealed by the source's keys) makes it seal itself instead of running live. Only the restarts
   * on the restored data (recovery mode, or an acknowledged unsealed drill) carry it.
   */
  sealConfig?: string;
  /** The variables the seal needs (sealEnvironment's allowlist); given only to restarts with the seal. */
  sealEnv?: Record<string, string>;
}

/**
 * `fresh`: normal mode on the scratch server's own empty storage (to init and receive the restore).
 * `recovery`: recovery mode on the restored data (nothing runs; only sys/raw is served).
 * `restored-unsealed`: normal mode on the restored data: only for an acknowledged `--mode unsealed`.
 */
/** How long a scratch server gets to stop after SIGTERM before SIGKILL (the daemon's kill grace is longer). */
export const SCRATCH_STOP_TIMEOUT_MS = 12_000;

export type ScratchMode = 'fresh' | 'recovery' | 'restored-unsealed';

/**
 * A throw-away Vault/OpenBao server for restore drills: its own 0700 temp dir holding config,
 * raft data, the downloaded archive and the server log; API and cluster listeners on 127.0.0.1
 * only. It runs under a watchdog process that kills it and removes the temp dir if the drill
 * process dies without cleaning up (even SIGKILL).
 */
export class ScratchVault {
  readonly dir: string;
  readonly addr: string;
  private process: WatchdogProcess | undefined;
  private guard: WatchdogProcess | undefined;
  private tls: ScratchTls | undefined;
  private log: WriteStream | undefined;

  private constructor(
    private readonly options: ScratchVaultOptions,
    dir: string,
    readonly apiPort: number,
    readonly clusterPort: number,
  ) {
    this.dir = dir;
    this.addr = `https://127.0.0.1:${apiPort}`;
  }

  static async create(options: ScratchVaultOptions): Promise<ScratchVault> {
    const apiPort = options.apiPort ?? (await freePort());
    const clusterPort = options.apiPort ? options.apiPort + 1 : await freePort([apiPort]);
    // The watchdog starts before the dir exists, so there is no moment when a SIGKILLed drill
    // could leave the dir behind unguarded (the decrypted archive lands in it before any server).
    // Removing a dir that was never made is harmless, so the watchdog may come first.
    const dir = join(options.tempRoot ?? tmpdir(), `vault-ops-drill-${randomBytes(6).toString('hex')}`);
    const guard = spawnWatchdog([String(process.pid), dir]);
    // Not recursive: fails rather than reuse an existing dir (which is then not ours to remove).
    await mkdir(dir, { mode: 0o700 }).catch(async (err: Error) => {
      await stopWatchdog(guard);
      throw new VaultOpsError(
        'scratch',
        `cannot create the drill's temp dir in ${options.tempRoot ?? tmpdir()}: ${err.message}; ` +
          'set TMPDIR to a writable folder',
      );
    });
    try {
      await chmod(dir, 0o700); // whatever the umask
      const scratch = new ScratchVault(options, dir, apiPort, clusterPort);
      scratch.guard = guard;
      await mkdir(join(dir, 'raft'), { mode: 0o700 });
      scratch.tls = await makeScratchTls(dir);
      return scratch;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      await stopWatchdog(guard);
      throw err;
    }
  }

  private config(withSourceSeal: boolean): string {
    return `# vault-ops restore drill: throw-away server, loopback only
storage "raft" {
  path    = "${join(this.dir, 'raft')}"
  node_id = "vault-ops-drill"
  # One node on loopback: elect at once (the default multiplier 5 waits ~5 s per election).
  performance_multiplier = 1
}
# Mutual TLS: only the drill holds a client certificate (see scratch-tls.ts).
listener "tcp" {
  address                            = "127.0.0.1:${this.apiPort}"
  cluster_address                    = "127.0.0.1:${this.clusterPort}"
  tls_cert_file                      = "${this.tls!.serverCertFile}"
  tls_key_file                       = "${this.tls!.serverKeyFile}"
  tls_client_ca_file                 = "${this.tls!.clientCaFile}"
  tls_require_and_verify_client_cert = true
}
api_addr      = "https://127.0.0.1:${this.apiPort}"
cluster_addr  = "https://127.0.0.1:${this.clusterPort}"
disable_mlock = true
ui            = false
${withSourceSeal ? (this.options.sealConfig ?? '') : ''}
`;
  }

  /** A client for the scratch server: its CA, and the client certificate it requires. */
  client(token?: string): VaultClient {
    const tls = this.tls!;
    return new VaultClient(
      {
        address: this.addr,
        timeoutMs: 30_000,
        allowInsecureHttp: false,
        caPem: tls.caPem,
        clientCertPem: tls.clientCertPem,
        clientKeyPem: tls.clientKeyPem,
      },
      token,
    );
  }

  async start(mode: ScratchMode, signal?: AbortSignal): Promise<void> {
    if (this.process) throw new VaultOpsError('internal', 'scratch server already running');
    await writeFile(join(this.dir, 'scratch.hcl'), this.config(mode !== 'fresh'), { mode: 0o600 });
    const log = createWriteStream(join(this.dir, 'server.log'), { flags: 'a', mode: 0o600 });
    this.log = log;
    const child = spawnWatchdog(
      [
        String(process.pid),
        this.dir,
        this.options.binary,
        'server',
        `-config=${join(this.dir, 'scratch.hcl')}`,
        ...(mode === 'recovery' ? ['-recovery'] : []),
      ],
      {
        // The server gets no token from our environment: PATH, its own HOME and, once it runs the
        // source's seal stanza, the allowlisted variables that seal needs to reach its KMS.
        env: {
          ...(mode !== 'fresh' && this.options.sealConfig ? this.options.sealEnv : {}),
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: this.dir,
        },
        output: 'pipe',
      },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.process = child;
    const ready = mode === 'recovery' ? 'sys/generate-recovery-token/attempt' : 'sys/seal-status';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (signal?.aborted)
        throw new VaultOpsError('aborted', 'restore drill interrupted while the scratch server was starting');
      if (child.nodeChildProcess.exitCode !== null) break;
      try {
        await this.client().read(ready, { unauthenticated: true, timeoutMs: 2000 });
        return;
      } catch {
        await sleep(100);
      }
    }
    const tail = await this.logTail();
    const exited = child.nodeChildProcess.exitCode !== null;
    if (/address already in use/i.test(tail)) {
      throw new VaultOpsError(
        'scratch',
        `scratch server could not listen on 127.0.0.1:${this.apiPort} or :${this.clusterPort} (address already in ` +
          `use): choose another --scratch-port`,
      );
    }
    const how = exited ? `exited with code ${child.nodeChildProcess.exitCode}` : 'did not answer within 60 s';
    throw new VaultOpsError(
      'scratch',
      `scratch server ${this.options.binary} ${how} in ${mode} mode: ` + `${lastMeaningfulLine(tail)}`,
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child) return;
    if (child.nodeChildProcess.exitCode === null && child.nodeChildProcess.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([child.then(() => true), sleep(SCRATCH_STOP_TIMEOUT_MS, false, { ref: false })]);
      if (!done) {
        child.kill('SIGKILL');
        await child;
      }
    }
  }

  async logTail(lines = 20): Promise<string> {
    try {
      return (await readFile(join(this.dir, 'server.log'), 'utf8')).split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Stop the server and remove everything it and the drill wrote. */
  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    this.log?.end();
    await rm(this.dir, { recursive: true, force: true });
    if (this.guard) await stopWatchdog(this.guard);
    this.guard = undefined;
  }
}

function lastMeaningfulLine(log: string): string {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /error|fatal|panic|invalid|failed/i.test(l));
  const line = lines[lines.length - 1] ?? log.split('\n').filter(Boolean).pop() ?? 'no output';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/**
 * Start a watchdog (watchdog.ts): in its own process group (`detached`), so that a SIGKILL of the
 * job's whole group reaches the drill but not the watchdog that cleans up after it. Not execa's
 * exit cleanup either: it would SIGTERM the watchdog while the drill exits, and the watchdog
 * could not tell that from a normal stop; it notices the drill is gone by itself.
 */
function spawnWatchdog(args: string[], options: { env?: Record<string, string>; output?: 'pipe' } = {}) {
  const watchdog = watchdogEntry();
  const child = execa(process.execPath, [...watchdog.nodeArgs, watchdog.script, ...args], {
    stdin: 'ignore',
    stdout: options.output === 'pipe' ? 'pipe' : 'ignore',
    stderr: options.output === 'pipe' ? 'pipe' : 'ignore',
    reject: false,
    cleanup: false,
    detached: true,
    env: options.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    extendEnv: false,
  });
  if (options.output !== 'pipe') child.nodeChildProcess.unref();
  return child;
}

/** Stop a dir-guarding watchdog once the drill has removed the dir itself (or never made it). */
type WatchdogProcess = ReturnType<typeof spawnWatchdog>;

async function stopWatchdog(guard: WatchdogProcess): Promise<void> {
  guard.kill('SIGTERM');
  await guard.catch(() => undefined);
}

/** How to run the watchdog: the compiled .js next to this file, or the .ts source under tsx. */
function watchdogEntry(): { script: string; nodeArgs: string[] } {
  const here = import.meta.url;
  const script = fileURLToPath(new URL(here.endsWith('.ts') ? './watchdog.ts' : './watchdog.js', here));
  const nodeArgs: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--import' || a === '--loader' || a === '--require' || a === '-r') {
      nodeArgs.push(a, argv[i + 1] ?? '');
      i++;
    } else if (/^--(import|loader|require)=/.test(a)) nodeArgs.push(a);
  }
  return { script, nodeArgs };
}

async function freePort(exclude: number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (!exclude.includes(port)) return port;
  }
}
