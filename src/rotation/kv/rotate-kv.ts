import { VaultOpsError } from '../../errors.js';
import type { BackupPort, RecordPort } from '../ports.js';
import type { KvV2 } from './kv.js';
import type { SecretPolicy } from './policy.js';
import {
  checkMounts,
  planReport,
  planSecrets,
  runRotation,
  statusView,
  type RotationPlanView,
  type RotationRunDeps,
  type RotationRunOptions,
  type RotationRunResult,
  type RotationRunView,
  type RotationStatusView,
} from './run.js';
import type { RotationRecorder } from './types.js';
import { readRaftPosition } from '../../vault/sys.js';

/**
 * `rotate kv` as one library call: the rotation run, a record of each completed rotation in a
 * snapshot store (`--record-to`), a snapshot after a run that rotated anything (`--snapshot-after`),
 * and the exit policy that turns the result into the run's one error, or none; `--dry-run`'s plan and
 * `rotate kv status` beside it. Never prints.
 */

export interface RotationReadOptions {
  policyFile: string;
  secrets: readonly SecretPolicy[];
  now: Date;
  concurrency: number;
}

/** `rotate kv --dry-run`: what a run would do now and why (read-only; the staging mount is checked too). */
export async function planKvRotation(
  kv: KvV2,
  options: RotationReadOptions & { stagingMount: string; force: boolean },
): Promise<RotationPlanView> {
  await checkMounts(kv, options.secrets, options.stagingMount);
  const { now, force, concurrency } = options;
  const plans = await planSecrets(kv, options.secrets, { now, force, concurrency });
  return planReport(options.policyFile, plans, options.now);
}

/** `rotate kv status`: each secret's rotation state (read-only). */
export async function kvRotationStatus(kv: KvV2, options: RotationReadOptions): Promise<RotationStatusView> {
  await checkMounts(kv, options.secrets);
  const { now, concurrency } = options;
  const plans = await planSecrets(kv, options.secrets, { now, force: false, concurrency });
  const secrets = plans.map(statusView);
  return { kind: 'rotation-status', time: now.toISOString(), policy: options.policyFile, secrets };
}

export type RotateKvSettings = RotationRunOptions;

export interface RotateKvDeps extends Omit<RotationRunDeps, 'recorder'> {
  /** Receives a record of each completed rotation (never a value). The caller opens and closes its store. */
  records?: RecordPort;
  /**
   * Takes a snapshot after a run that rotated anything and was not interrupted, so that a restore
   * never brings back the replaced values. The caller opens and closes the store and resolves its
   * protection before the run: a bad key file must not surface after the rotations.
   */
  snapshotAfter?: Pick<BackupPort, 'take'>;
}

/** The snapshot after the run: its id, or why it failed (the rotations stand either way). */
export type SnapshotAfterOutcome = { id: string } | { error: string };

/** The run's report (`--output json` shape), with `snapshot` when one was attempted after the run. */
export type RotateKvReport = RotationRunView & { snapshot?: SnapshotAfterOutcome };

export interface RotateKvResult extends Omit<RotationRunResult, 'report'> {
  report: RotateKvReport;
}

export async function rotateKv(settings: RotateKvSettings, deps: RotateKvDeps): Promise<RotateKvResult> {
  const { records, snapshotAfter, ...runDeps } = deps;
  const recorder: RotationRecorder | undefined = records
    ? async (record) => {
        // The raft index orders the record against a snapshot when it is restored (clocks never do).
        const position = await readRaftPosition(deps.kv.client);
        await records.write({
          ...record,
          ...(position.clusterId ? { clusterId: position.clusterId } : {}),
          ...(position.appliedIndex !== undefined ? { raftIndex: position.appliedIndex } : {}),
        });
      }
    : undefined;
  const result = await runRotation(settings, { ...runDeps, ...(recorder ? { recorder } : {}) });
  if (!snapshotAfter || result.rotated === 0 || result.interrupted) return result;
  let snapshot: SnapshotAfterOutcome;
  try {
    snapshot = await snapshotAfter.take();
  } catch (err) {
    snapshot = { error: (err as Error).message };
  }
  return { ...result, report: { ...result.report, snapshot } };
}

/**
 * The exit policy of `rotate kv`: the one error a finished run ends with, or undefined when it
 * succeeded. The first that applies wins: interrupted by a signal (exit 1), a test hook rejected a
 * value (exit 3), a secret failed or is quarantined or its record was not written (exit 1), the
 * snapshot after the run failed (exit 1).
 */
export function rotateKvError(result: RotateKvResult): VaultOpsError | undefined {
  const { report } = result;
  if (result.interrupted) {
    const stopped = report.secrets.filter((s) => s.interrupted).map((s) => `${s.secret} (at ${s.failedStep})`);
    const where =
      stopped.length > 0
        ? `${stopped.join(', ')} stopped at a recorded step, any running hook killed`
        : 'no rotation was in progress';
    return new VaultOpsError(
      'aborted',
      `rotate kv was interrupted by a signal: ${where}; ` +
        'run rotate kv again to resume (the same rotation ids and staged values)',
    );
  }
  const failures = report.secrets.filter(
    (s) => s.outcome === 'failed' || s.outcome === 'quarantined' || s.failedStep === 'record',
  );
  if (result.testFailed) {
    const tested = failures.filter((f) => f.failedStep === 'test').map((f) => f.secret);
    return new VaultOpsError(
      'verification',
      `a rotation test failed for ${tested.join(', ')}: ` +
        'the live secrets keep their old values; fix the target and run again',
    );
  }
  if (result.failed) {
    return new VaultOpsError(
      'internal',
      `rotation failed for ${failures.map((f) => f.secret).join(', ')}: ` +
        'see the report above; the next run resumes pending rotations',
    );
  }
  if (report.snapshot && 'error' in report.snapshot) {
    return new VaultOpsError(
      'store',
      `the rotations are done, but the snapshot after them failed: ${report.snapshot.error}; ` +
        'take one with vault-ops snapshot save',
    );
  }
  return undefined;
}
