import { execa } from 'execa';

/**
 * Runs hook and generator commands. Secrets travel only on stdin (JSON), never in argv or the
 * environment.
 *
 * Environment: an allowlist, never the parent's whole environment. The child gets PATH, HOME,
 * LANG, TZ and the LC_* locale variables, plus exactly the variables the policy names for that
 * command (`hooks.env`, `keys.<name>.env`), each only if the parent has it. Nothing else: no
 * VAULT_TOKEN, VAULT_ADDR, AWS_* … unless the policy names them.
 *
 * Process group: each command runs in its own process group, and the group never outlives the
 * call: on timeout or abort the whole group gets SIGTERM, then SIGKILL 2 s later; when the
 * command exits by itself, whatever it left running in its group is stopped the same way; and
 * `run` returns only after that. Groups still running when this process exits get SIGKILL.
 */
export interface ProcessResult {
  exitCode: number | undefined;
  signal?: string;
  timedOut: boolean;
  /** The caller's AbortSignal fired before or while the command ran: its exit status proves nothing. */
  aborted: boolean;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (ENOENT, EACCES…). */
  spawnError?: string;
}

export interface ProcessRunOptions {
  input: string;
  timeoutMs: number;
  cwd?: string;
  /** Variables passed on from the parent environment besides the base allowlist (names only). */
  env?: readonly string[];
  /** Abort: the command's process group is terminated and the result is marked `aborted`. */
  signal?: AbortSignal;
}

export interface ProcessRunner {
  run(command: readonly string[], options: ProcessRunOptions): Promise<ProcessResult>;
}

/** Every child gets these (when set in the parent), and the LC_* locale variables. */
export const BASE_ENVIRONMENT: readonly string[] = ['PATH', 'HOME', 'LANG', 'TZ'];
const LOCALE_VARIABLE = /^LC_[A-Z]+$/;

/** A child's environment: the base allowlist plus the named variables, taken from `parent`. */
export function childEnvironment(parent: NodeJS.ProcessEnv, names: readonly string[] = []): Record<string, string> {
  const wanted = new Set([...BASE_ENVIRONMENT, ...names]);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && (wanted.has(name) || LOCALE_VARIABLE.test(name))) out[name] = value;
  }
  return out;
}

const KILL_AFTER_MS = 2000;
/** How long to wait for SIGKILLed members to disappear (zombies wait for their parent or init). */
const REAP_WAIT_MS = 1000;

/** Process groups this process started and has not yet seen empty. */
const liveGroups = new Set<number>();
let exitHandlerInstalled = false;

function killLiveGroups(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
}

function track(pgid: number): void {
  if (!exitHandlerInstalled) {
    process.on('exit', killLiveGroups);
    exitHandlerInstalled = true;
  }
  liveGroups.add(pgid);
}

/** Send a signal to a whole process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (signalGroup(pgid, 0)) {
    if (Date.now() >= until) return false;
    await sleep(25);
  }
  return true;
}

/** After the leader exited: stop what is left in its group (SIGTERM, SIGKILL 2 s later) and forget it. */
async function settleGroup(pgid: number): Promise<void> {
  try {
    if (!signalGroup(pgid, 0)) return;
    signalGroup(pgid, 'SIGTERM');
    if (await waitGone(pgid, KILL_AFTER_MS)) return;
    signalGroup(pgid, 'SIGKILL');
    await waitGone(pgid, REAP_WAIT_MS);
  } finally {
    liveGroups.delete(pgid);
  }
}

export function execaRunner(env: NodeJS.ProcessEnv = process.env): ProcessRunner {
  return {
    async run(command, options) {
      const [file, ...args] = command;
      if (!file)
        return {
          exitCode: undefined,
          timedOut: false,
          aborted: false,
          stdout: '',
          stderr: '',
          spawnError: 'empty command',
        };
      if (options.signal?.aborted)
        return { exitCode: undefined, timedOut: false, aborted: true, stdout: '', stderr: '' };
      const child = execa(file, args, {
        input: options.input,
        reject: false,
        env: childEnvironment(env, options.env),
        extendEnv: false,
        // Own process group, so that a timeout or an abort reaches grandchildren too.
        detached: true,
        maxBuffer: 1024 * 1024,
        stripFinalNewline: true,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
      const pgid = child.pid;
      if (pgid !== undefined) track(pgid);
      let timedOut = false;
      let aborted = false;
      let hardKill: NodeJS.Timeout | undefined;
      const terminate = () => {
        if (pgid === undefined) return;
        signalGroup(pgid, 'SIGTERM');
        hardKill ??= setTimeout(() => signalGroup(pgid, 'SIGKILL'), KILL_AFTER_MS);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        terminate();
      }, options.timeoutMs);
      const onAbort = () => {
        aborted = true;
        terminate();
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await child;
        const spawnFailed = result.exitCode === undefined && !result.signal && result.failed;
        return {
          exitCode: result.exitCode,
          ...(result.signal ? { signal: result.signal } : {}),
          timedOut,
          aborted: aborted || options.signal?.aborted === true,
          stdout: String(result.stdout ?? ''),
          stderr: String(result.stderr ?? ''),
          ...(spawnFailed ? { spawnError: (result as { code?: string }).code ?? result.shortMessage } : {}),
        };
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (pgid !== undefined) await settleGroup(pgid);
        if (hardKill) clearTimeout(hardKill);
      }
    },
  };
}
