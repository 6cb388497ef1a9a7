import { isVaultOpsError } from '../../errors.js';
import { LockLost } from './lock.js';
import type { SecretRotation } from './secret-rotation.js';
import { META, clip } from './state.js';
import type { FailedStep, SecretOutcome } from './types.js';

/**
 * How a rotation that stopped ends: an interrupt is reported and never counted; any other error is
 * a failed attempt, counted in custom_metadata, and quarantines the secret after maxFailures (a
 * conflict at once: a person must reconcile).
 */

export class HookFailed extends Error {
  override readonly name = 'HookFailed';
  constructor(
    readonly hook: 'set' | 'test' | 'revoke',
    message: string,
  ) {
    super(message);
  }
}

/** The live secret changed under a rotation whose `set` may have run: a person must reconcile. */
export class Conflict extends Error {
  override readonly name = 'Conflict';
}

export function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** Turn an error into the outcome, counting the failure (and quarantining) in custom_metadata. */
export async function failureOutcome(run: SecretRotation, err: unknown): Promise<SecretOutcome> {
  const text = run.deps.secrets.scrub(message(err));
  const rotationId = run.state.rotationId ?? run.rotationId;
  if (err instanceof LockLost) return { ...run.base, outcome: 'failed', failedStep: 'lock', rotationId, reason: text };
  if (isVaultOpsError(err) && err.code === 'aborted') {
    // An interrupt is not an attempt that failed: nothing is counted, so a few restarts never quarantine a secret.
    const next =
      run.state.state === 'pending'
        ? `the next run resumes rotation ${rotationId} from step ${run.state.step ?? 'staged'} with the same ` +
          `staged value`
        : 'the next run tries again';
    run.deps.logger.info(
      { secret: run.secret.id, rotationId, failedStep: run.stepReached },
      `rotation interrupted: ${text}`,
    );
    return {
      ...run.base,
      outcome: 'failed',
      failedStep: run.stepReached,
      rotationId,
      interrupted: true,
      reason: `${text}; not counted as a failed attempt: ${next}`,
    };
  }
  const failedStep: FailedStep =
    err instanceof HookFailed
      ? err.hook
      : err instanceof Conflict
        ? 'conflict'
        : isVaultOpsError(err) && err.code.startsWith('vault-')
          ? 'vault'
          : run.stepReached;
  const failures = run.state.failures + 1;
  const quarantine = err instanceof Conflict || failures >= run.secret.maxFailures;
  const quarantineReason =
    err instanceof Conflict ? `conflict: ${text}` : `${failures} failed attempts in a row; last: ${text}`;
  run.deps.logger.warn(
    { secret: run.secret.id, rotationId, failedStep, failures, quarantine },
    `rotation failed: ${text}`,
  );
  try {
    await run.kv.patchMetadata(run.secret.mount, run.secret.path, {
      custom: {
        [META.failures]: String(failures),
        [META.lastError]: clip(text),
        ...(quarantine ? { [META.quarantined]: clip(quarantineReason) } : {}),
      },
    });
  } catch (recordErr) {
    run.deps.logger.warn(
      { secret: run.secret.id, err: message(recordErr) },
      'could not record the failure in custom_metadata',
    );
  }
  return {
    ...run.base,
    outcome: quarantine ? 'quarantined' : 'failed',
    failedStep,
    rotationId,
    reason: quarantine
      ? `quarantined: ${quarantineReason}`
      : `${text} (attempt ${failures} of ${run.secret.maxFailures}; ${
          run.state.state === 'pending' ? 'the next run resumes with the same staged value' : 'the next run tries again'
        })`,
  };
}
