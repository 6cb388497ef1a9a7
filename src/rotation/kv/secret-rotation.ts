import { VaultOpsError } from '../../errors.js';
import { generateValues } from './generate.js';
import { CasMismatch, type KvMetadata, type KvV2 } from './kv.js';
import type { LockInfo, SecretLock } from './lock.js';
import { MetadataWriter } from './metadata-writer.js';
import { evaluateSecret } from './plan.js';
import type { SecretPolicy } from './policy.js';
import { stagingPath } from './paths.js';
import { Conflict, message } from './failure.js';
import { resumePending } from './resume.js';
import { revokePrevious } from './revoke.js';
import { META, parseRotationState, type MetaPatch, type RotationState } from './state.js';
import type { FailedStep, RotationDeps, RotationSettings, SecretOutcome, StepName } from './types.js';
import type { Values } from './values.js';

/**
 * One secret's rotation, as one object the phases share (resume.ts, revoke.ts, failure.ts,
 * run-hook.ts): the secret, its state as last read, the rotation id, the metadata writer and the
 * step reached. Without hooks: direct(). With hooks: staged() revokes what is due, starts a new
 * rotation or resumes the pending one.
 */
export class SecretRotation {
  state: RotationState = { state: 'never', failures: 0 };
  rotationId: string;
  meta: MetadataWriter | undefined;
  stepReached: FailedStep = 'vault';
  readonly base: { id: string; mount: string; path: string };

  /** `lock`: held for secrets with hooks; a hook-less rotation takes none. */
  constructor(
    readonly secret: SecretPolicy,
    readonly deps: RotationDeps,
    readonly settings: RotationSettings,
    rotationId: string,
    readonly lock?: SecretLock,
  ) {
    this.rotationId = rotationId;
    this.base = { id: secret.id, mount: secret.mount, path: secret.path };
  }

  /** Before each write of a locked rotation: stop if the lock was lost. */
  assertLockHeld(): void {
    this.lock?.assertHeld();
  }

  async step(step: StepName, rotationId = this.rotationId): Promise<void> {
    this.deps.logger.debug({ secret: this.secret.id, rotationId, step }, 'rotation step');
    await this.deps.onStep?.({ secret: this.secret.id, rotationId, step });
  }

  get kv(): KvV2 {
    return this.deps.kv;
  }

  /** Before each step that acts (a hook, generating, staging, the live write): stop if the run was interrupted. */
  stopIfInterrupted(before: string): void {
    if (this.deps.signal?.aborted)
      throw new VaultOpsError('aborted', `interrupted before ${before} of ${this.secret.id}`);
  }

  async readMeta(): Promise<KvMetadata> {
    const meta = await this.kv.readMetadata(this.secret.mount, this.secret.path);
    if (!meta || meta.currentVersion === 0) throw new Conflict(`${this.secret.id} no longer exists`);
    this.state = parseRotationState(meta.customMetadata);
    this.meta = new MetadataWriter(this.kv, this.secret, meta.metadataVersion);
    return meta;
  }

  keys(): string[] {
    return this.secret.keys.map((k) => k.name);
  }

  register(values: Values): void {
    for (const v of Object.values(values)) this.deps.secrets.add(v);
  }

  async record(outcome: SecretOutcome): Promise<SecretOutcome> {
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

  completedPatch(version: number, previousVersion: number, now: Date): MetaPatch {
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
  async overtaken(planned: KvMetadata): Promise<SecretOutcome> {
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
        await revokePrevious(this, meta);
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
    const outcome = await resumePending(this);
    return { ...outcome, ...(resumed ? { resumed: true } : {}), ...(revoked ? { revoked: true } : {}) };
  }

  /** Create the pending value, stage it (create-only), and mark the live secret pending. */
  async start(meta: KvMetadata): Promise<void> {
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
}
