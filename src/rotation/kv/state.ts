/**
 * A secret's rotation state, kept in its KV v2 `custom_metadata` (version-agnostic, ≤ 64 keys,
 * values ≤ 512 bytes, merged by PATCH so other teams' keys are kept). Never holds a value.
 *
 * Phases of one rotation (the `RotationStep`, only while `state` is `pending`):
 *
 *   staged ──► set-started ──► set-done ──► tested ──► (live written) ──► current/cleanup ──► current
 *
 * - `staged`: the pending value is in the staging mount; no hook has run. A human change of the
 *   live secret now is harmless: the rotation rebases onto it.
 * - `set-started`: the `set` hook may have run; from here on the pending value is never
 *   regenerated, and a human change of the live secret is a conflict (quarantine).
 * - `set-done`, `tested`: `set` / `test` succeeded (no hook of that kind counts as success).
 * - `cleanup` (with state `current`): the live secret holds the new value; the staging entry
 *   may still exist and is deleted next.
 *
 * `revoke` follows a completed rotation when a revoke hook exists: `pending` until
 * `revoke-after`, then `done`.
 */

export const META = {
  state: 'vault-ops-state',
  step: 'vault-ops-step',
  rotationId: 'vault-ops-rotation-id',
  baseVersion: 'vault-ops-base-version',
  pendingSince: 'vault-ops-pending-since',
  lastRotated: 'vault-ops-last-rotated',
  version: 'vault-ops-version',
  previousVersion: 'vault-ops-previous-version',
  revoke: 'vault-ops-revoke',
  revokeAfter: 'vault-ops-revoke-after',
  failures: 'vault-ops-failures',
  lastError: 'vault-ops-last-error',
  quarantined: 'vault-ops-quarantined',
} as const;

export type RotationStep = 'staged' | 'set-started' | 'set-done' | 'tested' | 'cleanup';
const STEPS: readonly RotationStep[] = ['staged', 'set-started', 'set-done', 'tested', 'cleanup'];

export interface RotationState {
  /** `never`: vault-ops has not rotated this secret (no state recorded). */
  state: 'never' | 'current' | 'pending';
  step?: RotationStep | undefined;
  rotationId?: string;
  /** Live version the pending rotation replaces (its CAS version). */
  baseVersion?: number;
  pendingSince?: Date;
  lastRotated?: Date;
  /** Live version written by the last completed rotation. */
  version?: number;
  /** Live version that held the value before it (for revoke). */
  previousVersion?: number;
  revoke?: 'pending' | 'done';
  revokeAfter?: Date;
  failures: number;
  lastError?: string;
  /** Why the secret is quarantined (skipped until `--force` or `rotate kv clear`). */
  quarantined?: string;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
function date(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Read the state out of custom_metadata; unknown or malformed keys are ignored. */
export function parseRotationState(meta: Record<string, string> | null | undefined): RotationState {
  const m = meta ?? {};
  const rawState = m[META.state];
  const state: RotationState['state'] =
    rawState === 'pending' ? 'pending' : rawState === 'current' ? 'current' : 'never';
  const step = STEPS.find((s) => s === m[META.step]);
  const out: RotationState = { state, failures: int(m[META.failures]) ?? 0 };
  if (step) out.step = step;
  const rotationId = m[META.rotationId];
  if (rotationId) out.rotationId = rotationId;
  const base = int(m[META.baseVersion]);
  if (base !== undefined) out.baseVersion = base;
  const pendingSince = date(m[META.pendingSince]);
  if (pendingSince) out.pendingSince = pendingSince;
  const last = date(m[META.lastRotated]);
  if (last) out.lastRotated = last;
  const version = int(m[META.version]);
  if (version !== undefined) out.version = version;
  const previous = int(m[META.previousVersion]);
  if (previous !== undefined) out.previousVersion = previous;
  const revoke = m[META.revoke];
  if (revoke === 'pending' || revoke === 'done') out.revoke = revoke;
  const revokeAfter = date(m[META.revokeAfter]);
  if (revokeAfter) out.revokeAfter = revokeAfter;
  const lastError = m[META.lastError];
  if (lastError) out.lastError = lastError;
  const quarantined = m[META.quarantined];
  if (quarantined) out.quarantined = quarantined;
  return out;
}

/** custom_metadata values are limited to 512 bytes. */
export function clip(text: string, max = 500): string {
  const one = text.replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(one) <= max) return one;
  let cut = one.slice(0, max);
  while (Buffer.byteLength(cut) > max - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** A merge-patch of custom_metadata: a string sets a key, null removes it. */
export type MetaPatch = Partial<Record<(typeof META)[keyof typeof META], string | null>>;

/** Every vault-ops key set to null: used by `clear` together with the keys it keeps. */
export const CLEAR_PENDING: MetaPatch = {
  [META.step]: null,
  [META.baseVersion]: null,
  [META.pendingSince]: null,
  [META.failures]: null,
  [META.lastError]: null,
  [META.quarantined]: null,
};
