import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real server started by the testbed: its own 0700 temp dir, output captured to a log file in
 * that dir (shown when it fails to start), stopped with SIGTERM then SIGKILL, and killed when the
 * test process exits for any reason.
 */
export interface ServerProcess {
  name: string;
  dir: string;
  logFile: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  /** Stop with `signal` (default SIGTERM; PostgreSQL wants SIGINT for a fast shutdown), SIGKILL after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  log(): Promise<string>;
}

const running = new Set<ChildProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `vault-ops-${prefix}-`));
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  dir?: string;
  cwd?: string;
  /** Keep the temp dir on stop (the caller owns it). */
  keepDir?: boolean;
}

export async function startServerProcess(options: StartOptions): Promise<ServerProcess> {
  installExitHooks();
  const dir = options.dir ?? (await makeTempDir(options.name));
  const logFile = join(dir, `${options.name}.log`);
  const logStream = createWriteStream(logFile);
  const child = spawn(options.command, options.args, {
    cwd: options.cwd ?? dir,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // `npm run testbed` in a terminal: a Ctrl-C reaches the testbed only, which stops its servers in order.
    detached: process.env.VAULT_OPS_TESTBED_DETACHED === '1',
  });
  child.stdout?.pipe(logStream, { end: false });
  child.stderr?.pipe(logStream, { end: false });
  running.add(child);
  let stopped = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      // A server that goes away while its tests still use it (a crash, or a test's own kill):
      // say so with its last words (a Go panic is the last thing on stderr, so wait until the
      // output is closed and written), before stop() deletes its directory and log.
      if (!stopped) {
        child.once('close', () => {
          // stop() may have ended the log meanwhile (a test that stops what it killed): report as is.
          if (stopped || logStream.writableEnded) void reportExit(options.name, logFile, code, signal);
          else logStream.write('', () => void reportExit(options.name, logFile, code, signal));
        });
      }
      resolve(code);
    });
    child.once('error', () => {
      running.delete(child);
      resolve(null);
    });
  });
  return {
    name: options.name,
    dir,
    logFile,
    child,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const result = await Promise.race([
          exited.then(() => 'exited'),
          sleep(10_000, undefined, { ref: false }).then(() => 'timeout'),
        ]);
        if (result === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      logStream.end();
      if (!options.keepDir) await rm(dir, { recursive: true, force: true });
    },
    async log() {
      try {
        return await readFile(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
}

/** Poll `probe` until it returns true; on timeout throw with the server's log tail so the failure is loud. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; server?: ServerProcess } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.server && options.server.child.exitCode !== null) break;
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(options.intervalMs ?? 100);
  }
  const tail = options.server ? (await options.server.log()).split('\n').slice(-30).join('\n') : '';
  const exit = options.server?.child.exitCode;
  const exited = exit !== null && exit !== undefined ? ` (process exited with ${exit})` : '';
  const error = lastError ? `; last error: ${(lastError as Error).message}` : '';
  const log = tail ? `\n--- ${options.server?.name} log ---\n${tail}` : '';
  throw new Error(`testbed: ${what} did not become ready${exited}${error}${log}`);
}

async function reportExit(name: string, logFile: string, code: number | null, signal: NodeJS.Signals | null) {
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const tail = log.split('\n').slice(-80).join('\n');
  process.stderr.write(
    `testbed: ${name} exited while in use (${signal ? `signal ${signal}` : `exit ${code}`}); ` +
      `its last log lines:\n${tail}\n`,
  );
}
