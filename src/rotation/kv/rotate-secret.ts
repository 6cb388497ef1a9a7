import { failureOutcome, message } from './failure.js';
import type { KvMetadata } from './kv.js';
import { SecretLock } from './lock.js';
import type { SecretPolicy } from './policy.js';
import { SecretRotation } from './secret-rotation.js';
import { parseRotationState } from './state.js';
import type { RotationDeps, RotationSettings, SecretOutcome } from './types.js';

/**
 * One secret's rotation. With hooks: an explicit state machine whose state lives in Vault (the
 * secret's custom_metadata, the staging entry, the lock), so that a run killed at any point is
 * resumed by the next run with the same rotation id and the same pending value (see state.ts for
 * the steps). Without hooks: one check-and-set write and its marker, no lock (see direct()).
 */

/** Rotate (or resume, or revoke for) one secret that the plan selected. */
export async function rotateSecret(
  secret: SecretPolicy,
  planned: KvMetadata,
  deps: RotationDeps,
  settings: RotationSettings,
): Promise<SecretOutcome> {
  if (!secret.hooks) {
    // No target system, hence nothing to stage and no lock: the live write's check-and-set orders runs (direct()).
    const run = new SecretRotation(secret, deps, settings, deps.newRotationId());
    try {
      return await run.direct(planned);
    } catch (err) {
      return await failureOutcome(run, err);
    }
  }
  const base = { id: secret.id, mount: secret.mount, path: secret.path };
  const plannedState = parseRotationState(planned.customMetadata);
  const wantId =
    plannedState.state === 'pending' && plannedState.rotationId ? plannedState.rotationId : deps.newRotationId();
  let attempt;
  try {
    attempt = await SecretLock.acquire(
      deps.kv,
      { stagingMount: settings.stagingMount, ttlMs: settings.lockTtlMs, now: deps.now, logger: deps.logger },
      secret.mount,
      secret.path,
      { rotationId: wantId, holder: settings.holder, baseVersion: planned.currentVersion },
    );
  } catch (err) {
    return {
      ...base,
      outcome: 'failed',
      failedStep: 'lock',
      reason: `could not take the rotation lock in ${settings.stagingMount}/: ${message(err)}`,
    };
  }
  if (!attempt.acquired) {
    return {
      ...base,
      outcome: 'skipped',
      reason:
        `locked by rotation ${attempt.heldBy.rotationId} (${attempt.heldBy.holder}) until ` +
        `${attempt.heldBy.expires}`,
    };
  }
  const lock = attempt.lock;
  const run = new SecretRotation(secret, deps, settings, lock.rotationId, lock);
  try {
    await run.step('lock-acquired', wantId);
    return await run.staged(planned, attempt.takenOver);
  } catch (err) {
    return await failureOutcome(run, err);
  } finally {
    await lock
      .release()
      .catch((err) =>
        deps.logger.warn(
          { secret: secret.id, err: message(err) },
          'could not release the rotation lock; it expires by itself',
        ),
      );
  }
}
