import { execa } from 'execa';

/**
 * Runs hook and generator commands. Secrets travel only on stdin (JSON), never in argv or the
 * environment; the child gets the parent's environment minus Vault tokens. A command that
 * outlives its timeout is terminated with its whole process group (SIGTERM, SIGKILL 2 s later),
 * so a hanging grandchild cannot keep the run waiting.
 */
export interface ProcessResult {
  exitCode: number | undefined;
  signal?: string;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started (ENOENT, EACCES…). */
  spawnError?: string;
}

export interface ProcessRunner {
  run(command: readonly string[], options: { input: string; timeoutMs: number; cwd?: string; signal?: AbortSignal }): Promise<ProcessResult>;
}

const TOKEN_ENV = /^(VAULT_TOKEN|BAO_TOKEN|VAULT_OPS_.*TOKEN.*)$/;

function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!TOKEN_ENV.test(k)) out[k] = v;
  return out;
}

export function execaRunner(env: NodeJS.ProcessEnv = process.env): ProcessRunner {
  return {
    async run(command, options) {
      const [file, ...args] = command;
      if (!file) return { exitCode: undefined, timedOut: false, stdout: '', stderr: '', spawnError: 'empty command' };
      const child = execa(file, args, {
        input: options.input,
        reject: false,
        env: childEnv(env),
        extendEnv: false,
        // Own process group, so that the timeout can kill grandchildren too.
        detached: true,
        cleanup: true,
        maxBuffer: 1024 * 1024,
        stripFinalNewline: true,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
      let timedOut = false;
      const killGroup = (signal: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, signal);
        } catch {
          /* already gone */
        }
      };
      let hardKill: NodeJS.Timeout | undefined;
      const terminate = () => {
        killGroup('SIGTERM');
        hardKill = setTimeout(() => killGroup('SIGKILL'), 2000);
        hardKill.unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        terminate();
      }, options.timeoutMs);
      const onAbort = () => terminate();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await child;
        const spawnFailed = result.exitCode === undefined && !result.signal && result.failed;
        return {
          exitCode: result.exitCode,
          ...(result.signal ? { signal: result.signal } : {}),
          timedOut,
          stdout: String(result.stdout ?? ''),
          stderr: String(result.stderr ?? ''),
          ...(spawnFailed ? { spawnError: (result as { code?: string }).code ?? result.shortMessage } : {}),
        };
      } finally {
        clearTimeout(timer);
        if (hardKill && !timedOut) clearTimeout(hardKill);
        options.signal?.removeEventListener('abort', onAbort);
      }
    },
  };
}
