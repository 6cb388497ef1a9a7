import { dirname } from 'node:path';
import { VaultOpsError } from '../../errors.js';
import { HookFailed } from './failure.js';
import type { SecretRotation } from './secret-rotation.js';

export async function runHook(
  run: SecretRotation,
  hook: 'set' | 'test' | 'revoke',
  command: string[],
  input: string,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  const result = await run.deps.runner.run(command, {
    input,
    timeoutMs,
    cwd: dirname(run.settings.policyFile),
    env: run.secret.hooks?.env ?? [],
    ...(run.deps.signal ? { signal: run.deps.signal } : {}),
  });
  const ms = Date.now() - started;
  const tail = run.deps.secrets.scrub(result.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
  run.deps.logger.debug(
    { secret: run.secret.id, hook, exitCode: result.exitCode, aborted: result.aborted, ms },
    'hook finished',
  );
  const what = `${hook} hook for ${run.secret.id} (${command[0]})`;
  // Interrupted: even an exit 0 may be a hook cut short, so the step is not recorded as done; it runs again (hooks
  // are idempotent).
  if (result.aborted) throw new VaultOpsError('aborted', `${what} was interrupted and its process group stopped`);
  if (result.spawnError)
    throw new HookFailed(
      hook,
      `${what} could not start (${result.spawnError}): check the path and that it is executable`,
    );
  if (result.timedOut) throw new HookFailed(hook, `${what} timed out after ${timeoutMs / 1000}s and was killed`);
  if (result.exitCode !== 0)
    throw new HookFailed(
      hook,
      `${what} failed with ${result.signal ?? `exit ${result.exitCode}`}${tail ? `: ${tail}` : ''}`,
    );
}
