import { VaultOpsError } from '../../errors.js';
import { mapInFlight } from '../../repository/in-flight.js';
import type { KvMetadata, KvV2 } from './kv.js';
import { SecretLock } from './lock.js';
import { evaluateSecret, type PlannedAction, type SecretEvaluation } from './plan.js';
import type { SecretPolicy } from './policy.js';
import { stagingPath } from './paths.js';
import { readRevokeRecord } from './revoke-record.js';
import { rotateSecret } from './rotate-secret.js';
import type { RotationDeps, RotationReporter, RotationSettings, SecretOutcome } from './types.js';
import { nextCronRuns } from '../../time/cron.js';
import { META, parseRotationState, CLEAR_PENDING, type RotationState } from './state.js';

/**
 * The library entry points behind `rotate kv`: plan (read-only), run, status and clear. Each takes
 * plain typed options and its dependencies, returns a typed result, and never prints.
 */

/**
 * Every entry must name an existing KV v2 mount, and the staging mount must be another KV v2
 * mount (never the consumer's, so application policies cannot read pending values). The staging
 * mount itself is checked only when a secret has hooks: hook-less rotations never touch it, so
 * their job needs no grant on it. All problems are reported together (exit 2), each naming its entry.
 */
export async function checkMounts(kv: KvV2, secrets: readonly SecretPolicy[], stagingMount?: string): Promise<void> {
  const problems: string[] = [];
  const mounts = [...new Set(secrets.map((s) => s.mount))];
  const infos = new Map(await mapInFlight(mounts, 8, async (m) => [m, await kv.mountOf(`${m}/`)] as const));
  for (const s of secrets) {
    const info = infos.get(s.mount);
    const label = `secrets[${s.index}] (${s.id})`;
    if (!info)
      problems.push(
        `${label}: ${s.mount}/ is not a secrets engine mount this token can see: enable KV v2 there (vault secrets ` +
          `enable -path=${s.mount} kv-v2) or fix mount`,
      );
    else if (info.path !== `${s.mount}/`)
      problems.push(
        `${label}: ${s.mount} is inside the mount ${info.path}: ` +
          `set mount: ${info.path.replace(/\/$/, '')} and put the rest into path`,
      );
    else if (info.type !== 'kv' || info.version !== '2')
      problems.push(
        `${label}: ${s.mount}/ is ` +
          `${info.type === 'kv' ? `KV version ${info.version ?? '1'}` : `a ${info.type} engine`}, not KV v2: ` +
          `rotation needs KV v2 (versions, check-and-set, custom_metadata)`,
      );
    if (stagingMount !== undefined && s.mount === stagingMount)
      problems.push(
        `${label}: the staging mount ${stagingMount}/ cannot hold rotated secrets: choose another --staging-mount`,
      );
  }
  if (stagingMount !== undefined && secrets.some((s) => s.hooks)) {
    const info = await kv.mountOf(`${stagingMount}/`);
    if (!info || info.path !== `${stagingMount}/` || info.type !== 'kv' || info.version !== '2') {
      problems.push(
        `staging mount ${stagingMount}/ is not a KV v2 mount this token can see: enable it (vault secrets enable ` +
          `-path=${stagingMount} kv-v2) and grant the rotation policy on it, or choose --staging-mount`,
      );
    }
  }
  if (problems.length > 0) throw new VaultOpsError('config', `invalid rotation policy: ${problems.join('; ')}`);
}

export interface SecretPlan {
  secret: SecretPolicy;
  meta: KvMetadata | undefined;
  evaluation: SecretEvaluation;
}

export async function planSecrets(
  kv: KvV2,
  secrets: readonly SecretPolicy[],
  options: { now: Date; force: boolean; concurrency: number },
): Promise<SecretPlan[]> {
  return mapInFlight(secrets, Math.max(options.concurrency, 16), async (secret) => {
    const meta = await kv.readMetadata(secret.mount, secret.path);
    return { secret, meta, evaluation: evaluateSecret(secret, meta, options.now, options.force) };
  });
}

// ------------------------------------------------------------------ JSON views (stable shapes)

export interface SecretStatusView {
  secret: string;
  mount: string;
  path: string;
  exists: boolean;
  state: 'never' | 'current' | 'pending';
  step: string | null;
  rotationId: string | null;
  currentVersion: number | null;
  lastRotated: string | null;
  lastRotatedSource: 'rotation' | 'created' | null;
  nextDue: string | null;
  failures: number;
  lastError: string | null;
  quarantined: string | null;
  revoke: { state: 'pending' | 'done'; after: string | null } | null;
}

export interface PlannedSecretView extends SecretStatusView {
  action: PlannedAction;
  due: boolean;
  reason: string;
  schedule: string;
  nextRuns: string[];
  hooks: boolean;
}

export interface RotationPlanView {
  kind: 'rotation-plan';
  time: string;
  policy: string;
  summary: Record<PlannedAction, number>;
  secrets: PlannedSecretView[];
}

export interface RotationStatusView {
  kind: 'rotation-status';
  time: string;
  policy: string;
  secrets: SecretStatusView[];
}

function iso(d: Date | undefined): string | null {
  return d ? d.toISOString() : null;
}

function scheduleText(secret: SecretPolicy): string {
  const s = secret.schedule;
  return s.kind === 'every' ? `every ${s.text}` : `cron "${s.text}" UTC, window ${Math.round(s.windowMs / 60_000)}m`;
}

export function statusView(p: SecretPlan): SecretStatusView {
  const st = p.evaluation.state;
  return {
    secret: p.secret.id,
    mount: p.secret.mount,
    path: p.secret.path,
    exists: p.evaluation.action !== 'missing',
    state: st.state,
    step: st.step ?? null,
    rotationId: st.rotationId ?? null,
    currentVersion: p.meta && p.meta.currentVersion > 0 ? p.meta.currentVersion : null,
    lastRotated: iso(p.evaluation.lastRotated),
    lastRotatedSource: p.evaluation.lastRotatedSource ?? null,
    nextDue: iso(p.evaluation.check?.nextDue),
    failures: st.failures,
    lastError: st.lastError ?? null,
    quarantined: st.quarantined ?? null,
    revoke: st.revoke ? { state: st.revoke, after: iso(st.revokeAfter) } : null,
  };
}

export function plannedView(p: SecretPlan, now: Date): PlannedSecretView {
  const s = p.secret.schedule;
  const nextRuns = p.evaluation.check?.nextRuns ?? (s.kind === 'cron' ? nextCronRuns(s.cron, now, 3) : []);
  return {
    ...statusView(p),
    action: p.evaluation.action,
    due: p.evaluation.due,
    reason: p.evaluation.reason,
    schedule: scheduleText(p.secret),
    nextRuns: nextRuns.map((d) => d.toISOString()),
    hooks: !!p.secret.hooks,
  };
}

export function planReport(policyFile: string, plans: readonly SecretPlan[], now: Date): RotationPlanView {
  const summary: Record<PlannedAction, number> = { rotate: 0, resume: 0, revoke: 0, none: 0, skip: 0, missing: 0 };
  for (const p of plans) summary[p.evaluation.action] += 1;
  return {
    kind: 'rotation-plan',
    time: now.toISOString(),
    policy: policyFile,
    summary,
    secrets: plans.map((p) => plannedView(p, now)),
  };
}

// ------------------------------------------------------------------ run

export interface RotationRunOptions extends RotationSettings {
  secrets: readonly SecretPolicy[];
  /** Circuit breaker: start at most this many rotations (resumes included) in one run. */
  maxRotations?: number;
  concurrency: number;
}

export interface RotationRunDeps extends RotationDeps {
  /** Told how the run ended (metrics). */
  reporter?: RotationReporter;
}

export type RunOutcomeKind = SecretOutcome['outcome'];

export interface RotationRunView {
  kind: 'rotation-run';
  startedAt: string;
  finishedAt: string;
  policy: string;
  summary: Record<RunOutcomeKind, number>;
  secrets: Array<Omit<SecretOutcome, 'id'> & { secret: string }>;
}

export interface RotationRunResult {
  report: RotationRunView;
  /** Secrets rotated (completed) in this run. */
  rotated: number;
  /** Some secret failed; `testFailed` when a test hook rejected a value. */
  failed: boolean;
  testFailed: boolean;
  /**
   * `signal` fired during the run: secrets in progress stopped at a recorded step (`interrupted`), the rest did not
   * start.
   */
  interrupted: boolean;
}

/**
 * Plan, then rotate/resume/revoke what is due, `concurrency` secrets at a time. Secrets that are
 * not due get no write at all. Pending rotations are resumed first, then the most overdue.
 */
export async function runRotation(options: RotationRunOptions, deps: RotationRunDeps): Promise<RotationRunResult> {
  const started = deps.now();
  await checkMounts(deps.kv, options.secrets, options.stagingMount);
  const plans = await planSecrets(deps.kv, options.secrets, {
    now: started,
    force: options.force,
    concurrency: options.concurrency,
  });

  const work = plans
    .map((p, i) => ({ p, i }))
    .filter(
      ({ p }) =>
        p.evaluation.action === 'rotate' || p.evaluation.action === 'resume' || p.evaluation.action === 'revoke',
    )
    .sort((a, b) => {
      const rank = (x: SecretPlan) => (x.evaluation.action === 'resume' ? 0 : x.evaluation.action === 'rotate' ? 1 : 2);
      const byRank = rank(a.p) - rank(b.p);
      if (byRank !== 0) return byRank;
      const due = (x: SecretPlan) => x.evaluation.check?.nextDue.getTime() ?? 0;
      return due(a.p) - due(b.p) || a.i - b.i;
    });
  const outcomes = new Array<SecretOutcome>(plans.length);
  let budget = options.maxRotations ?? Number.POSITIVE_INFINITY;
  const admitted: typeof work = [];
  for (const w of work) {
    const counts = w.p.evaluation.action !== 'revoke';
    if (counts && budget <= 0) {
      outcomes[w.i] = {
        id: w.p.secret.id,
        mount: w.p.secret.mount,
        path: w.p.secret.path,
        outcome: 'skipped',
        reason: `deferred: --max-rotations ${options.maxRotations} reached in this run`,
      };
      continue;
    }
    if (counts) budget -= 1;
    admitted.push(w);
  }
  plans.forEach((p, i) => {
    if (outcomes[i] || admitted.some((w) => w.i === i)) return;
    const base = { id: p.secret.id, mount: p.secret.mount, path: p.secret.path };
    const a = p.evaluation.action;
    outcomes[i] =
      a === 'missing'
        ? { ...base, outcome: 'failed', failedStep: 'vault', reason: p.evaluation.reason }
        : { ...base, outcome: a === 'skip' ? 'skipped' : 'not-due', reason: p.evaluation.reason };
  });

  await mapInFlight(admitted, options.concurrency, async (w) => {
    if (deps.signal?.aborted) {
      outcomes[w.i] = {
        id: w.p.secret.id,
        mount: w.p.secret.mount,
        path: w.p.secret.path,
        outcome: 'skipped',
        reason: 'run interrupted before this secret',
      };
      return;
    }
    outcomes[w.i] = await rotateSecret(w.p.secret, w.p.meta!, deps, options);
    const o = outcomes[w.i]!;
    deps.logger.info(
      { secret: o.id, outcome: o.outcome, rotationId: o.rotationId, failedStep: o.failedStep },
      `${o.id}: ${o.outcome}${o.reason ? ` (${o.reason})` : ''}`,
    );
  });

  const finished = deps.now();
  const summary: Record<RunOutcomeKind, number> = {
    rotated: 0,
    revoked: 0,
    'not-due': 0,
    skipped: 0,
    failed: 0,
    quarantined: 0,
  };
  for (const o of outcomes) summary[o.outcome] += 1;
  if (deps.reporter) {
    const quarantined = plans
      .filter(
        (p, i) =>
          outcomes[i]!.outcome === 'quarantined' ||
          (p.evaluation.state.quarantined && outcomes[i]!.outcome !== 'rotated'),
      )
      .map((p) => ({ mount: p.secret.mount, path: p.secret.path }));
    deps.reporter.runFinished(outcomes, quarantined, finished);
  }
  const failed = outcomes.some(
    (o) => o.outcome === 'failed' || o.outcome === 'quarantined' || o.failedStep === 'record',
  );
  return {
    report: {
      kind: 'rotation-run',
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      policy: options.policyFile,
      summary,
      secrets: outcomes.map(({ id, ...rest }) => ({ secret: id, ...rest })),
    },
    rotated: summary.rotated,
    failed,
    testFailed: outcomes.some(
      (o) => (o.outcome === 'failed' || o.outcome === 'quarantined') && o.failedStep === 'test' && !o.interrupted,
    ),
    interrupted: deps.signal?.aborted === true,
  };
}

// ------------------------------------------------------------------ clear

export interface ClearedSecret {
  secret: string;
  result: 'cleared' | 'nothing-to-clear' | 'locked' | 'missing';
  /** A pending rotation was dropped; when its set hook may have run, the target may hold its value. */
  droppedRotation: { rotationId: string; step: string | null; setMayHaveRun: boolean } | null;
}

/**
 * Lift a quarantine and reset the failure count; a pending rotation is dropped (its staged value
 * deleted). Run it after reconciling the target and the live secret by hand. Under the secret's
 * rotation lock when a rotation with hooks could run or be pending; a hook-less secret has no lock to
 * take (its rotations take none) unless a pending rotation is left from when it had hooks.
 */
export async function clearRotationState(
  secrets: readonly SecretPolicy[],
  deps: RotationDeps,
  settings: RotationSettings,
): Promise<ClearedSecret[]> {
  return mapInFlight(secrets, 4, async (secret): Promise<ClearedSecret> => {
    const meta = await deps.kv.readMetadata(secret.mount, secret.path);
    if (!meta) return { secret: secret.id, result: 'missing', droppedRotation: null };
    const st = parseRotationState(meta.customMetadata);
    if (!st.quarantined && st.failures === 0 && st.state !== 'pending')
      return { secret: secret.id, result: 'nothing-to-clear', droppedRotation: null };
    if (!secret.hooks && st.state !== 'pending') {
      await deps.kv.patchMetadata(secret.mount, secret.path, {
        custom: { [META.state]: st.state === 'never' ? null : 'current', ...CLEAR_PENDING },
      });
      deps.logger.info({ secret: secret.id }, 'cleared rotation state');
      return { secret: secret.id, result: 'cleared', droppedRotation: null };
    }
    const attempt = await SecretLock.acquire(
      deps.kv,
      { stagingMount: settings.stagingMount, ttlMs: settings.lockTtlMs, now: deps.now, logger: deps.logger },
      secret.mount,
      secret.path,
      {
        rotationId: deps.newRotationId(),
        holder: settings.holder,
      },
    );
    if (!attempt.acquired) return { secret: secret.id, result: 'locked', droppedRotation: null };
    try {
      const fresh = parseRotationState((await deps.kv.readMetadata(secret.mount, secret.path))?.customMetadata);
      let dropped: ClearedSecret['droppedRotation'] = null;
      if (fresh.state === 'pending') {
        await deps.kv.deleteAll(settings.stagingMount, stagingPath(secret.mount, secret.path));
        dropped = {
          rotationId: fresh.rotationId ?? '',
          step: fresh.step ?? null,
          setMayHaveRun: fresh.step !== 'staged' && !!secret.hooks?.set,
        };
      }
      // A pending revoke that the rotation's own record does not confirm (the metadata was patched, or an older
      // vault-ops left it) would fail every run: clearing is the operator saying it is reconciled.
      const unconfirmedRevoke = fresh.revoke === 'pending' && !(await revokeConfirmed(secret, fresh, deps, settings));
      await deps.kv.patchMetadata(secret.mount, secret.path, {
        custom: {
          [META.state]: fresh.state === 'never' || (fresh.state === 'pending' && !fresh.lastRotated) ? null : 'current',
          ...CLEAR_PENDING,
          ...(unconfirmedRevoke ? { [META.revoke]: null, [META.revokeAfter]: null } : {}),
        },
      });
      deps.logger.info({ secret: secret.id, dropped: dropped?.rotationId }, 'cleared rotation state');
      return { secret: secret.id, result: 'cleared', droppedRotation: dropped };
    } finally {
      await attempt.lock.release();
    }
  });
}

async function revokeConfirmed(
  secret: SecretPolicy,
  state: RotationState,
  deps: RotationDeps,
  settings: RotationSettings,
): Promise<boolean> {
  if (!secret.hooks?.revoke) return false;
  const record = await readRevokeRecord(deps.kv, settings.stagingMount, secret);
  return (
    record !== undefined &&
    !('malformed' in record) &&
    record.state === 'pending' &&
    record.rotationId === state.rotationId
  );
}
