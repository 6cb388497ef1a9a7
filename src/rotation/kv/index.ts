/**
 * The front door of the KV v2 rotation: everything outside rotation/kv/ (the CLI, setup, the
 * scheduler) imports from here or from paths.ts, never from the modules behind it.
 *
 * - `rotateKv` is one run as a library call (plan, locks, hooks, revokes, records, the snapshot
 *   after), `planKvRotation` and `kvRotationStatus` its read-only views, `clearRotationState` the
 *   operator's reset; `rotateKvError` turns a run's result into its one error.
 * - The process runner (execa) and the Prometheus reporter (prom-client) are loaded on demand, so
 *   that `--help`, `--dry-run` and `status` stay light.
 */
export { KvV2 } from './kv.js';
export { newRotationId } from './ids.js';
export {
  loadRotationPolicy,
  RotationPolicyFileSchema,
  rotationPolicyJsonSchema,
  selectSecrets,
  type RotationPolicy,
  type SecretPolicy,
} from './policy.js';
export {
  kvRotationStatus,
  planKvRotation,
  rotateKv,
  rotateKvError,
  type RotateKvDeps,
  type RotateKvReport,
  type RotateKvResult,
  type SnapshotAfterOutcome,
} from './rotate-kv.js';
export {
  checkMounts,
  clearRotationState,
  type ClearedSecret,
  type RotationPlanView,
  type RotationRunView,
  type RotationStatusView,
} from './run.js';
export type { ProcessRunner } from './process-runner.js';
export type { RotationDeps, RotationSettings } from './types.js';

/** The hook and generator runner (execa), loaded when a run needs it. */
export async function loadProcessRunner(env: NodeJS.ProcessEnv): Promise<import('./process-runner.js').ProcessRunner> {
  return (await import('./process-runner.js')).execaRunner(env);
}

/** The run's Prometheus reporter (prom-client), loaded when metrics go somewhere. */
export async function loadRotationMetrics(): Promise<import('./metrics.js').RotationMetrics> {
  return new (await import('./metrics.js')).RotationMetrics();
}
