import type { KvMetadata } from './kv.js';
import { revokeRecordPath } from './paths.js';
import { readRevokeRecord, revokeRecordProblem, writeRevokeRecord } from './revoke-record.js';
import { HookFailed } from './failure.js';
import { runHook } from './run-hook.js';
import type { SecretRotation } from './secret-rotation.js';
import { META } from './state.js';
import { pick } from './values.js';

/** Run the revoke hook for the value the last rotation replaced, then mark it done. */
export async function revokePrevious(run: SecretRotation, meta: KvMetadata): Promise<void> {
  const hooks = run.secret.hooks!;
  const st = run.state;
  run.stepReached = 'revoke';
  // What to revoke, and from when, comes from the rotation's own record in the staging mount; custom_metadata
  // (patchable by anyone with patch on it) must agree with it, or nothing is revoked.
  const where = `${run.settings.stagingMount}/${revokeRecordPath(run.secret.mount, run.secret.path)}`;
  const record = await readRevokeRecord(run.kv, run.settings.stagingMount, run.secret);
  if (record && !('malformed' in record) && record.state === 'done' && record.rotationId === st.rotationId) {
    // The hook ran and the record says so; the run died before the metadata said it too.
    await markRevoked(run);
    return;
  }
  const problem = revokeRecordProblem(
    record,
    { rotationId: st.rotationId, version: st.version, previousVersion: st.previousVersion },
    run.deps.now(),
    where,
  );
  if (problem !== undefined || record === undefined || 'malformed' in record)
    throw new HookFailed(
      'revoke',
      `tampering: ${problem ?? `no revoke record at ${where}`}; nothing was revoked. Check who can patch this ` +
        "secret's metadata, revoke the old value on the target by hand if it is still valid, then rotate kv clear",
    );
  // The record agrees with the metadata, and names a previous version older than the one written.
  const { previousVersion, version } = record;
  const prevData = await run.kv.readData(run.secret.mount, run.secret.path, previousVersion);
  if (!prevData) {
    throw new HookFailed(
      'revoke',
      `version ${previousVersion} of ${run.secret.id} (the previous value) is deleted or ` +
        `destroyed${meta.maxVersions ? ` (max_versions ${meta.maxVersions})` : ''}: revoke it on the target by ` +
        `hand, then rotate kv clear`,
    );
  }
  const previous = pick(prevData.data, run.keys());
  const current = pick((await run.kv.readData(run.secret.mount, run.secret.path, version))?.data, run.keys());
  // Never hand the hook the LIVE value to revoke (a person may have written the old value back): the
  // live value is the current version's, whatever the versions say.
  const live = pick((await run.kv.readData(run.secret.mount, run.secret.path))?.data, run.keys());
  run.register(previous);
  run.register(current);
  run.register(live);
  const liveKeys = Object.keys(live);
  if (liveKeys.some((k) => previous[k] !== undefined && previous[k] === live[k])) {
    throw new HookFailed(
      'revoke',
      `the value to revoke (version ${previousVersion}) is the live value: nothing was revoked. Check who ` +
        'wrote the old value back, then rotate kv clear',
    );
  }
  run.stopIfInterrupted('the revoke hook');
  run.assertLockHeld();
  const input = JSON.stringify({
    rotationId: st.rotationId,
    mount: run.secret.mount,
    path: run.secret.path,
    step: 'revoke',
    previous,
    pending: current,
  });
  await runHook(run, 'revoke', hooks.revoke!, input, hooks.timeoutMs);
  await writeRevokeRecord(run.kv, run.settings.stagingMount, run.secret, { ...record, state: 'done' });
  await markRevoked(run);
}

async function markRevoked(run: SecretRotation): Promise<void> {
  await run.meta!.patch({
    [META.revoke]: 'done',
    [META.revokeAfter]: null,
    [META.failures]: null,
    [META.lastError]: null,
  });
  run.state.revoke = 'done';
  await run.step('revoked', run.state.rotationId ?? run.rotationId);
}
