import { shellArg } from '../../errors.js';
import { CasMismatch } from './kv.js';
import { stagingPath } from './paths.js';
import { writeRevokeRecord } from './revoke-record.js';
import { Conflict } from './failure.js';
import { runHook } from './run-hook.js';
import type { SecretRotation } from './secret-rotation.js';
import { META } from './state.js';
import type { SecretOutcome } from './types.js';
import { pick, sameValues, type Values } from './values.js';

/**
 * A pending rotation with hooks, from the step it reached: set, test, the live write (check-and-set
 * on the base version), then finish. A person's change of the live secret before any hook ran is
 * rebased onto; after `set` may have run it is a conflict.
 */

/** Drive a pending rotation to the end, from whatever step it reached. */
export async function resumePending(run: SecretRotation): Promise<SecretOutcome> {
  const rotationId = run.state.rotationId;
  if (!rotationId || run.state.baseVersion === undefined)
    throw new Conflict(
      `the pending rotation's state in custom_metadata is incomplete (rotation id or base version missing)`,
    );
  run.rotationId = rotationId;
  const location = stagingPath(run.secret.mount, run.secret.path);
  const staged = await run.kv.readData(run.settings.stagingMount, location);
  const pending = staged?.data.values as Values | undefined;
  if (!staged || !pending || staged.data.rotationId !== rotationId) {
    throw new Conflict(
      `the value staged for rotation ${rotationId} is missing from ${run.settings.stagingMount}/${location}`,
    );
  }
  run.register(pending);
  let baseVersion = run.state.baseVersion;
  let previous = pick((await run.kv.readData(run.secret.mount, run.secret.path, baseVersion))?.data, run.keys());
  run.register(previous);

  const live = await run.kv.readData(run.secret.mount, run.secret.path);
  if (!live) throw new Conflict(`${run.secret.id} was deleted during rotation ${rotationId}`);
  if (live.version !== baseVersion) {
    const current = pick(live.data, run.keys());
    if (sameValues(current, pending)) {
      run.deps.logger.info(
        { secret: run.secret.id, rotationId },
        'the live secret already holds the pending value: finishing',
      );
      return finish(run, baseVersion, live.version);
    }
    if (run.state.step === 'staged') {
      // No hook has seen the pending value: rebase onto the person's change.
      baseVersion = live.version;
      previous = current;
      run.register(previous);
      await run.meta!.patch({ [META.baseVersion]: String(baseVersion) }, rotationId);
    } else {
      throw new Conflict(
        `${run.secret.id} changed to version ${live.version} (not by vault-ops) during rotation ${rotationId} ` +
          `after its set hook may have run; the target may hold the value staged at ` +
          `${run.settings.stagingMount}/${location}: make the target and the live secret agree, then run ` +
          `'vault-ops rotate kv clear --only ${shellArg(run.secret.id)}'`,
      );
    }
  }

  const hooks = run.secret.hooks!;
  const payload = (step: 'set' | 'test') =>
    JSON.stringify({ rotationId, mount: run.secret.mount, path: run.secret.path, step, previous, pending });
  if (run.state.step === 'staged' || run.state.step === 'set-started') {
    if (hooks.set) {
      run.stepReached = 'set';
      run.stopIfInterrupted('the set hook');
      if (run.state.step === 'staged') await run.meta!.patch({ [META.step]: 'set-started' }, rotationId);
      run.state.step = 'set-started';
      await run.step('set-started');
      run.stepReached = 'set';
      run.assertLockHeld();
      await runHook(run, 'set', hooks.set, payload('set'), hooks.timeoutMs);
    }
    await run.meta!.patch({ [META.step]: 'set-done' }, rotationId);
    run.state.step = 'set-done';
    await run.step('set-done');
  }
  if (run.state.step === 'set-done') {
    if (hooks.test) {
      run.stepReached = 'test';
      run.stopIfInterrupted('the test hook');
      run.assertLockHeld();
      await runHook(run, 'test', hooks.test, payload('test'), hooks.timeoutMs);
    }
    await run.meta!.patch({ [META.step]: 'tested' }, rotationId);
    run.state.step = 'tested';
    await run.step('tested');
  }
  run.stepReached = 'write';
  run.stopIfInterrupted('the live write');
  run.assertLockHeld();
  let written: number;
  try {
    written = await run.kv.patchData(run.secret.mount, run.secret.path, pending, baseVersion);
  } catch (err) {
    if (!(err instanceof CasMismatch)) throw err;
    const now = await run.kv.readData(run.secret.mount, run.secret.path);
    if (now && sameValues(pick(now.data, run.keys()), pending)) {
      written = now.version;
    } else {
      throw new Conflict(
        `${run.secret.id} changed to version ${now?.version ?? '?'} (not by vault-ops) just before rotation ` +
          `${rotationId} wrote it; the target already accepted the value staged at ` +
          `${run.settings.stagingMount}/${location}: make the target and the live secret agree, then run ` +
          `'vault-ops rotate kv clear --only ${shellArg(run.secret.id)}'`,
      );
    }
  }
  await run.step('live-written');
  return finish(run, baseVersion, written);
}

/** The new value is live: record it (revoke record first), delete the staged value, write the record. */
async function finish(run: SecretRotation, baseVersion: number, written: number): Promise<SecretOutcome> {
  const completed = run.completedPatch(written, baseVersion, run.deps.now());
  const revokeAfter = completed[META.revokeAfter];
  // The revoke's authoritative record goes first: a run that dies before the metadata patch resumes here and
  // writes both again; one that dies after it finds the record the metadata points at.
  if (revokeAfter) {
    run.assertLockHeld();
    await writeRevokeRecord(run.kv, run.settings.stagingMount, run.secret, {
      rotationId: run.rotationId,
      version: written,
      previousVersion: baseVersion,
      revokeAfter,
      state: 'pending',
    });
  }
  await run.meta!.patch({ ...completed, [META.step]: 'cleanup' }, run.rotationId);
  await run.step('marked-current');
  await run.kv.deleteAll(run.settings.stagingMount, stagingPath(run.secret.mount, run.secret.path));
  await run.step('staging-deleted');
  await run.meta!.patch({ [META.step]: null });
  return run.record({
    ...run.base,
    outcome: 'rotated',
    rotationId: run.rotationId,
    fromVersion: baseVersion,
    toVersion: written,
  });
}
