import { dirname } from 'node:path';
import { VaultOpsError, isVaultOpsError, shellArg } from '../../errors.js';
import { generateValues } from './generate.js';
import { CasMismatch, type KvMetadata, type KvV2 } from './kv.js';
import { LockLost, SecretLock, type LockInfo } from './lock.js';
import { MetadataWriter } from './metadata-writer.js';
import { evaluateSecret } from './plan.js';
import type { SecretPolicy } from './policy.js';
import { revokeRecordPath, stagingPath } from './paths.js';
import { readRevokeRecord, revokeRecordProblem, writeRevokeRecord } from './revoke-record.js';
import { META, clip, parseRotationState, type MetaPatch, type RotationState } from './state.js';
import type { FailedStep, RotationDeps, RotationSettings, SecretOutcome, StepName } from './types.js';

/**
 * One secret's rotation. With hooks: an explicit state machine whose state lives in Vault (the
 * secret's custom_metadata, the staging entry, the lock), so that a run killed at any point is
 * resumed by the next run with the same rotation id and the same pending value (see state.ts for
 * the steps). Without hooks: one check-and-set write and its marker, no lock (see direct()).
 */

class HookFailed extends Error {
  override readonly name = 'HookFailed';
  constructor(
    readonly hook: 'set' | 'test' | 'revoke',
    message: string,
  ) {
    super(message);
  }
}

/** The live secret changed under a rotation whose `set` may have run: a person must reconcile. */
class Conflict extends Error {
  override readonly name = 'Conflict';
}

type Values = Record<string, string>;

function pick(data: Record<string, unknown> | undefined, keys: readonly string[]): Values {
  const out: Values = {};
  for (const k of keys) {
    const v = data?.[k];
    if (v !== undefined && v !== null) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

function sameValues(a: Values, b: Values): boolean {
  const keys = Object.keys(b);
  return keys.length > 0 && keys.every((k) => a[k] === b[k]);
}

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
      return await run.failure(err);
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
    return await run.failure(err);
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

function message(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

class SecretRotation {
  private state: RotationState = { state: 'never', failures: 0 };
  private rotationId: string;
  private meta: MetadataWriter | undefined;
  private stepReached: FailedStep = 'vault';
  private readonly base: { id: string; mount: string; path: string };

  /** `lock`: held for secrets with hooks; a hook-less rotation takes none. */
  constructor(
    private readonly secret: SecretPolicy,
    private readonly deps: RotationDeps,
    private readonly settings: RotationSettings,
    rotationId: string,
    private readonly lock?: SecretLock,
  ) {
    this.rotationId = rotationId;
    this.base = { id: secret.id, mount: secret.mount, path: secret.path };
  }

  /** Before each write of a locked rotation: stop if the lock was lost. */
  private assertLockHeld(): void {
    this.lock?.assertHeld();
  }

  async step(step: StepName, rotationId = this.rotationId): Promise<void> {
    this.deps.logger.debug({ secret: this.secret.id, rotationId, step }, 'rotation step');
    await this.deps.onStep?.({ secret: this.secret.id, rotationId, step });
  }

  private get kv(): KvV2 {
    return this.deps.kv;
  }

  /** Before each step that acts (a hook, generating, staging, the live write): stop if the run was interrupted. */
  private stopIfInterrupted(before: string): void {
    if (this.deps.signal?.aborted)
      throw new VaultOpsError('aborted', `interrupted before ${before} of ${this.secret.id}`);
  }

  private async readMeta(): Promise<KvMetadata> {
    const meta = await this.kv.readMetadata(this.secret.mount, this.secret.path);
    if (!meta || meta.currentVersion === 0) throw new Conflict(`${this.secret.id} no longer exists`);
    this.state = parseRotationState(meta.customMetadata);
    this.meta = new MetadataWriter(this.kv, this.secret, meta.metadataVersion);
    return meta;
  }

  private keys(): string[] {
    return this.secret.keys.map((k) => k.name);
  }

  private register(values: Values): void {
    for (const v of Object.values(values)) this.deps.secrets.add(v);
  }

  private async record(outcome: SecretOutcome): Promise<SecretOutcome> {
    if (!this.deps.recorder) return outcome;
    try {
      await this.deps.recorder({
        time: this.deps.now(),
        kind: 'kv-rotation',
        mount: this.secret.mount,
        path: this.secret.path,
        rotationId: this.rotationId,
      });
      return outcome;
    } catch (err) {
      return {
        ...outcome,
        failedStep: 'record',
        warnings: [...(outcome.warnings ?? []), `rotation record not written: ${message(err)}`],
      };
    }
  }

  private completedPatch(version: number, previousVersion: number, now: Date): MetaPatch {
    const revoke = this.secret.hooks?.revoke;
    return {
      [META.state]: 'current',
      [META.rotationId]: this.rotationId,
      [META.lastRotated]: now.toISOString(),
      [META.version]: String(version),
      [META.previousVersion]: String(previousVersion),
      [META.baseVersion]: null,
      [META.pendingSince]: null,
      [META.failures]: null,
      [META.lastError]: null,
      [META.quarantined]: null,
      [META.revoke]: revoke ? 'pending' : null,
      [META.revokeAfter]: revoke ? new Date(now.getTime() + (this.secret.hooks?.graceMs ?? 0)).toISOString() : null,
    };
  }

  // ---------------------------------------------------------------- without hooks

  /**
   * No target system, so no staging and no lock: three requests (the plan's metadata read, this write, the marker).
   * The live write is a check-and-set on the version the plan read, so of two runs that planned the same version
   * only one writes; the other, and a run that a person's write overtook, writes nothing at all (no value, no
   * marker, no record) and leaves the secret as it is. The value is generated before the write and only written
   * by it, so a run stopped or killed before it leaves nothing behind; one killed between the write and the marker
   * leaves a version the next plan counts from its creation (plan.ts): never rotated again at once.
   */
  async direct(planned: KvMetadata): Promise<SecretOutcome> {
    this.state = parseRotationState(planned.customMetadata);
    this.meta = new MetadataWriter(this.kv, this.secret, planned.metadataVersion);
    this.stepReached = 'generate';
    this.stopIfInterrupted('generating the new value');
    const values = await generateValues(this.secret, this.rotationId, {
      kv: this.kv,
      runner: this.deps.runner,
      secrets: this.deps.secrets,
      policyFile: this.settings.policyFile,
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    });
    await this.step('generated');
    const from = planned.currentVersion;
    this.stepReached = 'write';
    this.stopIfInterrupted('the live write');
    let to: number;
    try {
      to = await this.kv.patchData(this.secret.mount, this.secret.path, values, from);
    } catch (err) {
      if (!(err instanceof CasMismatch)) throw err;
      return this.overtaken(planned);
    }
    await this.step('live-written');
    await this.meta.patch({ ...this.completedPatch(to, from, this.deps.now()), [META.step]: null });
    await this.step('marked-current');
    return this.record({
      ...this.base,
      outcome: 'rotated',
      rotationId: this.rotationId,
      fromVersion: from,
      toVersion: to,
    });
  }

  /**
   * The live write lost its check-and-set: the secret changed since the plan. Nothing was written and nothing more
   * is: one metadata read tells whether another run rotated it (its marker) or someone else wrote it.
   */
  private async overtaken(planned: KvMetadata): Promise<SecretOutcome> {
    const fresh = await this.kv.readMetadata(this.secret.mount, this.secret.path);
    const custom = fresh?.customMetadata ?? {};
    const now = fresh?.currentVersion;
    if (
      custom[META.rotationId] !== planned.customMetadata[META.rotationId] ||
      custom[META.lastRotated] !== planned.customMetadata[META.lastRotated]
    ) {
      return {
        ...this.base,
        outcome: 'skipped',
        ...(custom[META.rotationId] ? { rotationId: custom[META.rotationId] } : {}),
        reason: 'rotated by another run meanwhile',
      };
    }
    return {
      ...this.base,
      outcome: 'skipped',
      reason:
        `changed since the plan read version ${planned.currentVersion} ` +
        `(now ${now ? `version ${now}` : 'deleted'}; by a person, or by another run not yet recorded): left as ` +
        'written; its age now counts from that version',
    };
  }

  // ---------------------------------------------------------------- with hooks

  async staged(planned: KvMetadata, takenOver?: LockInfo): Promise<SecretOutcome> {
    if (takenOver)
      this.deps.logger.info(
        { secret: this.secret.id, rotationId: takenOver.rotationId },
        'resuming after an interrupted run',
      );
    let meta = await this.readMeta();
    // Another run finished (or cleaned up) this rotation between our plan and our lock: do not repeat it.
    if (
      this.state.state === 'current' &&
      (meta.customMetadata[META.rotationId] !== planned.customMetadata[META.rotationId] ||
        meta.customMetadata[META.lastRotated] !== planned.customMetadata[META.lastRotated])
    ) {
      return {
        ...this.base,
        outcome: 'skipped',
        rotationId: this.state.rotationId,
        reason: 'rotated by another run meanwhile',
      };
    }
    let resumed = this.state.state === 'pending' || this.state.step === 'cleanup';
    let revoked = false;
    const notes: string[] = [];

    if (this.state.state === 'current' && this.state.step === 'cleanup') {
      this.rotationId = this.state.rotationId ?? this.rotationId;
      await this.kv.deleteAll(this.settings.stagingMount, stagingPath(this.secret.mount, this.secret.path));
      await this.step('staging-deleted');
      await this.meta!.patch({ [META.step]: null });
      this.state.step = undefined;
      notes.push(`finished the cleanup of rotation ${this.rotationId}`);
    }

    if (this.state.state !== 'pending') {
      const now = this.deps.now();
      const evaluation = evaluateSecret(this.secret, meta, now, this.settings.force);
      if (
        this.state.revoke === 'pending' &&
        this.secret.hooks?.revoke &&
        (!this.state.revokeAfter || this.state.revokeAfter <= now)
      ) {
        await this.revoke(meta);
        revoked = true;
        meta = await this.readMeta();
      }
      const rotate = evaluation.action === 'rotate';
      if (!rotate) {
        if (revoked)
          return {
            ...this.base,
            outcome: 'revoked',
            revoked: true,
            rotationId: this.state.rotationId,
            reason: `revoked the value replaced by rotation ${this.state.rotationId}`,
          };
        if (resumed)
          return {
            ...this.base,
            outcome: 'rotated',
            resumed: true,
            rotationId: this.rotationId,
            reason: notes.join('; '),
          };
        return {
          ...this.base,
          outcome: evaluation.action === 'skip' ? 'skipped' : 'not-due',
          reason: evaluation.reason,
        };
      }
      resumed = false;
      await this.start(meta);
    }
    const outcome = await this.resume();
    return { ...outcome, ...(resumed ? { resumed: true } : {}), ...(revoked ? { revoked: true } : {}) };
  }

  /** Create the pending value, stage it (create-only), and mark the live secret pending. */
  private async start(meta: KvMetadata): Promise<void> {
    this.stepReached = 'generate';
    this.stopIfInterrupted('generating the new value');
    const location = stagingPath(this.secret.mount, this.secret.path);
    let values = await generateValues(this.secret, this.rotationId, {
      kv: this.kv,
      runner: this.deps.runner,
      secrets: this.deps.secrets,
      policyFile: this.settings.policyFile,
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    });
    this.stepReached = 'stage';
    this.stopIfInterrupted('staging the new value');
    this.assertLockHeld();
    try {
      await this.kv.writeData(
        this.settings.stagingMount,
        location,
        {
          rotationId: this.rotationId,
          mount: this.secret.mount,
          path: this.secret.path,
          created: this.deps.now().toISOString(),
          values,
        },
        0,
      );
    } catch (err) {
      if (!(err instanceof CasMismatch)) throw err;
      // Staged by a run that died before marking the secret pending: no hook has seen it yet,
      // but it is the same rotation: adopt its id and value rather than making a second one.
      const existing = await this.kv.readData(this.settings.stagingMount, location);
      const staged = existing?.data.values as Values | undefined;
      if (!existing || !staged || !existing.data.rotationId) throw err;
      this.register(staged);
      this.rotationId = String(existing.data.rotationId);
      values = staged;
      this.deps.logger.info(
        { secret: this.secret.id, rotationId: this.rotationId },
        'adopted the value staged by an interrupted run',
      );
    }
    await this.step('staged');
    await this.meta!.patch({
      [META.state]: 'pending',
      [META.step]: 'staged',
      [META.rotationId]: this.rotationId,
      [META.baseVersion]: String(meta.currentVersion),
      [META.pendingSince]: this.deps.now().toISOString(),
    });
    this.state = {
      ...this.state,
      state: 'pending',
      step: 'staged',
      rotationId: this.rotationId,
      baseVersion: meta.currentVersion,
    };
    await this.step('marked-pending');
  }

  /** Drive a pending rotation to the end, from whatever step it reached. */
  private async resume(): Promise<SecretOutcome> {
    const rotationId = this.state.rotationId;
    if (!rotationId || this.state.baseVersion === undefined)
      throw new Conflict(
        `the pending rotation's state in custom_metadata is incomplete (rotation id or base version missing)`,
      );
    this.rotationId = rotationId;
    const location = stagingPath(this.secret.mount, this.secret.path);
    const staged = await this.kv.readData(this.settings.stagingMount, location);
    const pending = staged?.data.values as Values | undefined;
    if (!staged || !pending || staged.data.rotationId !== rotationId) {
      throw new Conflict(
        `the value staged for rotation ${rotationId} is missing from ${this.settings.stagingMount}/${location}`,
      );
    }
    this.register(pending);
    let baseVersion = this.state.baseVersion;
    let previous = pick((await this.kv.readData(this.secret.mount, this.secret.path, baseVersion))?.data, this.keys());
    this.register(previous);

    const live = await this.kv.readData(this.secret.mount, this.secret.path);
    if (!live) throw new Conflict(`${this.secret.id} was deleted during rotation ${rotationId}`);
    if (live.version !== baseVersion) {
      const current = pick(live.data, this.keys());
      if (sameValues(current, pending)) {
        this.deps.logger.info(
          { secret: this.secret.id, rotationId },
          'the live secret already holds the pending value: finishing',
        );
        return this.finish(baseVersion, live.version);
      }
      if (this.state.step === 'staged') {
        // No hook has seen the pending value: rebase onto the person's change.
        baseVersion = live.version;
        previous = current;
        this.register(previous);
        await this.meta!.patch({ [META.baseVersion]: String(baseVersion) }, rotationId);
      } else {
        throw new Conflict(
          `${this.secret.id} changed to version ${live.version} (not by vault-ops) during rotation ${rotationId} ` +
            `after its set hook may have run; the target may hold the value staged at ` +
            `${this.settings.stagingMount}/${location}: make the target and the live secret agree, then run ` +
            `'vault-ops rotate kv clear --only ${shellArg(this.secret.id)}'`,
        );
      }
    }

    const hooks = this.secret.hooks!;
    const payload = (step: 'set' | 'test') =>
      JSON.stringify({ rotationId, mount: this.secret.mount, path: this.secret.path, step, previous, pending });
    if (this.state.step === 'staged' || this.state.step === 'set-started') {
      if (hooks.set) {
        this.stepReached = 'set';
        this.stopIfInterrupted('the set hook');
        if (this.state.step === 'staged') await this.meta!.patch({ [META.step]: 'set-started' }, rotationId);
        this.state.step = 'set-started';
        await this.step('set-started');
        this.stepReached = 'set';
        this.assertLockHeld();
        await this.runHook('set', hooks.set, payload('set'), hooks.timeoutMs);
      }
      await this.meta!.patch({ [META.step]: 'set-done' }, rotationId);
      this.state.step = 'set-done';
      await this.step('set-done');
    }
    if (this.state.step === 'set-done') {
      if (hooks.test) {
        this.stepReached = 'test';
        this.stopIfInterrupted('the test hook');
        this.assertLockHeld();
        await this.runHook('test', hooks.test, payload('test'), hooks.timeoutMs);
      }
      await this.meta!.patch({ [META.step]: 'tested' }, rotationId);
      this.state.step = 'tested';
      await this.step('tested');
    }
    this.stepReached = 'write';
    this.stopIfInterrupted('the live write');
    this.assertLockHeld();
    let written: number;
    try {
      written = await this.kv.patchData(this.secret.mount, this.secret.path, pending, baseVersion);
    } catch (err) {
      if (!(err instanceof CasMismatch)) throw err;
      const now = await this.kv.readData(this.secret.mount, this.secret.path);
      if (now && sameValues(pick(now.data, this.keys()), pending)) {
        written = now.version;
      } else {
        throw new Conflict(
          `${this.secret.id} changed to version ${now?.version ?? '?'} (not by vault-ops) just before rotation ` +
            `${rotationId} wrote it; the target already accepted the value staged at ` +
            `${this.settings.stagingMount}/${location}: make the target and the live secret agree, then run ` +
            `'vault-ops rotate kv clear --only ${shellArg(this.secret.id)}'`,
        );
      }
    }
    await this.step('live-written');
    return this.finish(baseVersion, written);
  }

  private async finish(baseVersion: number, written: number): Promise<SecretOutcome> {
    const completed = this.completedPatch(written, baseVersion, this.deps.now());
    const revokeAfter = completed[META.revokeAfter];
    // The revoke's authoritative record goes first: a run that dies before the metadata patch resumes here and
    // writes both again; one that dies after it finds the record the metadata points at.
    if (revokeAfter) {
      this.assertLockHeld();
      await writeRevokeRecord(this.kv, this.settings.stagingMount, this.secret, {
        rotationId: this.rotationId,
        version: written,
        previousVersion: baseVersion,
        revokeAfter,
        state: 'pending',
      });
    }
    await this.meta!.patch({ ...completed, [META.step]: 'cleanup' }, this.rotationId);
    await this.step('marked-current');
    await this.kv.deleteAll(this.settings.stagingMount, stagingPath(this.secret.mount, this.secret.path));
    await this.step('staging-deleted');
    await this.meta!.patch({ [META.step]: null });
    return this.record({
      ...this.base,
      outcome: 'rotated',
      rotationId: this.rotationId,
      fromVersion: baseVersion,
      toVersion: written,
    });
  }

  /** Run the revoke hook for the value the last rotation replaced, then mark it done. */
  private async revoke(meta: KvMetadata): Promise<void> {
    const hooks = this.secret.hooks!;
    const st = this.state;
    this.stepReached = 'revoke';
    // What to revoke, and from when, comes from the rotation's own record in the staging mount; custom_metadata
    // (patchable by anyone with patch on it) must agree with it, or nothing is revoked.
    const where = `${this.settings.stagingMount}/${revokeRecordPath(this.secret.mount, this.secret.path)}`;
    const record = await readRevokeRecord(this.kv, this.settings.stagingMount, this.secret);
    if (record && !('malformed' in record) && record.state === 'done' && record.rotationId === st.rotationId) {
      // The hook ran and the record says so; the run died before the metadata said it too.
      await this.markRevoked();
      return;
    }
    const problem = revokeRecordProblem(
      record,
      { rotationId: st.rotationId, version: st.version, previousVersion: st.previousVersion },
      this.deps.now(),
      where,
    );
    if (problem !== undefined || record === undefined || 'malformed' in record)
      throw new HookFailed(
        'revoke',
        `tampering: ${problem ?? `no revoke record at ${where}`}; nothing was revoked. Check who can patch this ` +
          "secret's metadata, revoke the old value on the target by hand if it is still valid, then rotate kv clear",
      );
    if (st.previousVersion === undefined || st.version === undefined)
      throw new HookFailed(
        'revoke',
        'the last rotation did not record its versions (vault-ops-previous-version / vault-ops-version)',
      );
    const prevData = await this.kv.readData(this.secret.mount, this.secret.path, st.previousVersion);
    if (!prevData) {
      throw new HookFailed(
        'revoke',
        `version ${st.previousVersion} of ${this.secret.id} (the previous value) is deleted or ` +
          `destroyed${meta.maxVersions ? ` (max_versions ${meta.maxVersions})` : ''}: revoke it on the target by ` +
          `hand, then rotate kv clear`,
      );
    }
    const previous = pick(prevData.data, this.keys());
    const current = pick((await this.kv.readData(this.secret.mount, this.secret.path, st.version))?.data, this.keys());
    // The versions come from custom_metadata, which anyone with patch on the metadata can set: never
    // hand the hook the LIVE value to revoke. The live value is the current version's, whatever the
    // markers say.
    const live = pick((await this.kv.readData(this.secret.mount, this.secret.path))?.data, this.keys());
    this.register(previous);
    this.register(current);
    this.register(live);
    const liveKeys = Object.keys(live);
    if (
      st.previousVersion >= st.version ||
      liveKeys.some((k) => previous[k] !== undefined && previous[k] === live[k])
    ) {
      throw new HookFailed(
        'revoke',
        `the value to revoke (version ${st.previousVersion}) is the live value or not older than the rotated one ` +
          `(version ${st.version}): the rotation markers in custom_metadata were tampered with; nothing was ` +
          'revoked. Check who can patch the metadata, then rotate kv clear',
      );
    }
    this.stopIfInterrupted('the revoke hook');
    this.assertLockHeld();
    const input = JSON.stringify({
      rotationId: st.rotationId,
      mount: this.secret.mount,
      path: this.secret.path,
      step: 'revoke',
      previous,
      pending: current,
    });
    await this.runHook('revoke', hooks.revoke!, input, hooks.timeoutMs);
    await writeRevokeRecord(this.kv, this.settings.stagingMount, this.secret, { ...record, state: 'done' });
    await this.markRevoked();
  }

  private async markRevoked(): Promise<void> {
    await this.meta!.patch({
      [META.revoke]: 'done',
      [META.revokeAfter]: null,
      [META.failures]: null,
      [META.lastError]: null,
    });
    this.state.revoke = 'done';
    await this.step('revoked', this.state.rotationId ?? this.rotationId);
  }

  private async runHook(
    hook: 'set' | 'test' | 'revoke',
    command: string[],
    input: string,
    timeoutMs: number,
  ): Promise<void> {
    const started = Date.now();
    const result = await this.deps.runner.run(command, {
      input,
      timeoutMs,
      cwd: dirname(this.settings.policyFile),
      env: this.secret.hooks?.env ?? [],
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    });
    const ms = Date.now() - started;
    const tail = this.deps.secrets.scrub(result.stderr.trim().split('\n').pop() ?? '').slice(0, 200);
    this.deps.logger.debug(
      { secret: this.secret.id, hook, exitCode: result.exitCode, aborted: result.aborted, ms },
      'hook finished',
    );
    const what = `${hook} hook for ${this.secret.id} (${command[0]})`;
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

  /** Turn an error into the outcome, counting the failure (and quarantining) in custom_metadata. */
  async failure(err: unknown): Promise<SecretOutcome> {
    const text = this.deps.secrets.scrub(message(err));
    const rotationId = this.state.rotationId ?? this.rotationId;
    if (err instanceof LockLost)
      return { ...this.base, outcome: 'failed', failedStep: 'lock', rotationId, reason: text };
    if (isVaultOpsError(err) && err.code === 'aborted') {
      // An interrupt is not an attempt that failed: nothing is counted, so a few restarts never quarantine a secret.
      const next =
        this.state.state === 'pending'
          ? `the next run resumes rotation ${rotationId} from step ${this.state.step ?? 'staged'} with the same ` +
            `staged value`
          : 'the next run tries again';
      this.deps.logger.info(
        { secret: this.secret.id, rotationId, failedStep: this.stepReached },
        `rotation interrupted: ${text}`,
      );
      return {
        ...this.base,
        outcome: 'failed',
        failedStep: this.stepReached,
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
            : this.stepReached;
    const failures = this.state.failures + 1;
    const quarantine = err instanceof Conflict || failures >= this.secret.maxFailures;
    const quarantineReason =
      err instanceof Conflict ? `conflict: ${text}` : `${failures} failed attempts in a row; last: ${text}`;
    this.deps.logger.warn(
      { secret: this.secret.id, rotationId, failedStep, failures, quarantine },
      `rotation failed: ${text}`,
    );
    try {
      await this.kv.patchMetadata(this.secret.mount, this.secret.path, {
        custom: {
          [META.failures]: String(failures),
          [META.lastError]: clip(text),
          ...(quarantine ? { [META.quarantined]: clip(quarantineReason) } : {}),
        },
      });
    } catch (recordErr) {
      this.deps.logger.warn(
        { secret: this.secret.id, err: message(recordErr) },
        'could not record the failure in custom_metadata',
      );
    }
    return {
      ...this.base,
      outcome: quarantine ? 'quarantined' : 'failed',
      failedStep,
      rotationId,
      reason: quarantine
        ? `quarantined: ${quarantineReason}`
        : `${text} (attempt ${failures} of ${this.secret.maxFailures}; ${
            this.state.state === 'pending'
              ? 'the next run resumes with the same staged value'
              : 'the next run tries again'
          })`,
    };
  }
}
