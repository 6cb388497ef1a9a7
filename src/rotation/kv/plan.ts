import type { KvMetadata } from './kv.js';
import type { SecretPolicy } from './policy.js';
import { checkDue, type DueCheck, type LastRotatedSource } from './schedule.js';
import { parseRotationState, type RotationState } from './state.js';

/**
 * What a run would do with one secret, decided from its metadata alone (no values are read):
 * - `rotate`: due (or `--force`): start a new rotation.
 * - `resume`: a rotation is pending (or its cleanup is): finish it, with the same pending value.
 * - `revoke`: the previous value's grace period is over: run the revoke hook.
 * - `none`: not due; nothing is written.
 * - `skip`: quarantined, or waiting for a revoke's grace period before rotating again.
 * - `missing`: the secret does not exist (vault-ops rotates existing secrets only).
 */
export type PlannedAction = 'rotate' | 'resume' | 'revoke' | 'none' | 'skip' | 'missing';

export interface SecretEvaluation {
  action: PlannedAction;
  due: boolean;
  reason: string;
  state: RotationState;
  lastRotated?: Date;
  lastRotatedSource?: LastRotatedSource;
  check?: DueCheck;
}

/** How far a rotation marker may lie ahead of this clock (another host's clock) before it is tampering. */
const MARKER_CLOCK_SKEW_MS = 5 * 60_000;

export function evaluateSecret(
  secret: SecretPolicy,
  meta: KvMetadata | undefined,
  now: Date,
  force: boolean,
): SecretEvaluation {
  if (!meta || meta.currentVersion === 0) {
    return {
      action: 'missing',
      due: false,
      reason: `${secret.id} does not exist: create it first (vault-ops rotates existing secrets only)`,
      state: { state: 'never', failures: 0 },
    };
  }
  const state = parseRotationState(meta.customMetadata);
  const created = meta.versions.get(meta.currentVersion)?.created ?? new Date(0);
  // The age is always a time Vault wrote (a version's created_time), never vault-ops-last-rotated: anyone with patch
  // on the metadata can set that marker, and a recent one would hold rotation back for as long as they keep it fresh.
  // The marker's version only picks which creation time counts, and the newest one it can pick is the current
  // version's: tampering can at most make the age the live value's own age.
  // Without hooks no lock orders runs, so the marker counts only while it names the current version. A later version
  // (a person's write, a rotation whose run died between its live write and its marker, or one being recorded right
  // now by another run) counts from its own creation, like a secret vault-ops never rotated: it is never rotated again
  // at once. With hooks the version the rotation wrote keeps deciding (their pending state and lock order runs; a
  // person's change during a rotation is handled by resume), as long as Vault still has it.
  const markedAt = state.version !== undefined ? meta.versions.get(state.version)?.created : undefined;
  const markerCounts =
    state.lastRotated !== undefined &&
    state.version !== undefined &&
    state.version <= meta.currentVersion &&
    markedAt !== undefined &&
    (secret.hooks !== undefined || state.version === meta.currentVersion);
  const source: LastRotatedSource = markerCounts ? 'rotation' : 'created';
  const lastRotated = markerCounts ? markedAt! : created;
  const markedVersion =
    !markerCounts &&
    state.lastRotated !== undefined &&
    state.version !== undefined &&
    state.version < meta.currentVersion
      ? state.version
      : undefined;
  const check = checkDue(secret.schedule, lastRotated, source, now, markedVersion);
  const base = { state, lastRotated, lastRotatedSource: source, check };

  // Only a rotation writes the marker, at its own time: one in the future was written by someone else
  // (patch on the metadata is enough) and would stop rotation silently. Said, never obeyed.
  if (state.lastRotated !== undefined && state.lastRotated.getTime() > now.getTime() + MARKER_CLOCK_SKEW_MS) {
    return {
      ...base,
      action: 'skip',
      due: false,
      reason:
        `tampering: vault-ops-last-rotated is ${state.lastRotated.toISOString()}, in the future; only a rotation ` +
        "writes it. Check who can patch this secret's metadata, then rotate kv clear",
    };
  }

  if (state.quarantined && !force) {
    return {
      ...base,
      action: 'skip',
      due: false,
      reason: `quarantined: ${state.quarantined} (run with --force to retry, or rotate kv clear after reconciling)`,
    };
  }
  if (state.state === 'pending') {
    return {
      ...base,
      action: 'resume',
      due: true,
      reason:
        `rotation ${state.rotationId ?? '?'} is pending at step ${state.step ?? '?'}: resume it with the same ` +
        `staged value`,
    };
  }
  if (state.step === 'cleanup') {
    return {
      ...base,
      action: 'resume',
      due: true,
      reason: `rotation ${state.rotationId ?? '?'} is live; its staging entry is still to be deleted`,
    };
  }
  const revokeWaiting = state.revoke === 'pending' && !!secret.hooks?.revoke;
  const revokeDue = revokeWaiting && (!state.revokeAfter || state.revokeAfter.getTime() <= now.getTime());
  const rotateDue = force || check.due;
  if (rotateDue && revokeWaiting && !revokeDue) {
    return {
      ...base,
      action: 'skip',
      due: true,
      reason:
        `due, but the previous value's revoke waits for its grace period until ` +
        `${state.revokeAfter?.toISOString()}`,
    };
  }
  if (rotateDue) {
    const why = force && !check.due ? `--force (${check.reason})` : check.reason;
    return {
      ...base,
      action: 'rotate',
      due: true,
      reason: revokeDue ? `${why}; the previous value is revoked first` : why,
    };
  }
  if (revokeDue) {
    return {
      ...base,
      action: 'revoke',
      due: false,
      reason:
        `grace period of rotation ${state.rotationId ?? '?'} ended ${state.revokeAfter?.toISOString() ?? ''}: ` +
        `revoke the previous value`,
    };
  }
  return { ...base, action: 'none', due: false, reason: check.reason };
}
