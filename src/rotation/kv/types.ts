import type { Logger } from 'pino';
import type { SecretRegistry } from '../../observability/secret-registry.js';
import type { KvV2 } from './kv.js';
import type { ProcessRunner } from './process-runner.js';

/** The shapes one secret's rotation works with: its dependencies, settings, durable steps and outcome. */

/**
 * Durable points of a rotation, in order; `onStep` is called after each (tests crash there). `generated` is the one
 * point that is not durable: hook-less rotations only, the new value exists in memory, the live write is next.
 */
export type StepName =
  | 'lock-acquired'
  | 'generated'
  | 'staged'
  | 'marked-pending'
  | 'set-started'
  | 'set-done'
  | 'tested'
  | 'live-written'
  | 'marked-current'
  | 'staging-deleted'
  | 'revoked';

export interface StepEvent {
  secret: string;
  rotationId: string;
  step: StepName;
}

/** Something that keeps a record of each completed rotation (`--record-to`); never given values. */
export type RotationRecorder = (record: {
  time: Date;
  kind: 'kv-rotation';
  mount: string;
  path: string;
  rotationId: string;
}) => Promise<void>;

export interface RotationDeps {
  kv: KvV2;
  runner: ProcessRunner;
  secrets: SecretRegistry;
  logger: Logger;
  now(): Date;
  newRotationId(): string;
  onStep?: (event: StepEvent) => void | Promise<void>;
  recorder?: RotationRecorder;
  /**
   * Stops the run (SIGTERM/SIGINT): a running hook or generator has its process group killed and
   * counts as not run; no new step starts (no hook, no staging, no live write). A live write that
   * already happened is still recorded, so that nothing is left half-recorded.
   */
  signal?: AbortSignal;
}

export interface RotationSettings {
  policyFile: string;
  stagingMount: string;
  lockTtlMs: number;
  force: boolean;
  /** Who runs this (host/pid/run id), written into locks. */
  holder: string;
}

export type SecretOutcomeKind = 'rotated' | 'revoked' | 'not-due' | 'skipped' | 'failed' | 'quarantined';
export type FailedStep =
  | 'lock'
  | 'generate'
  | 'stage'
  | 'set'
  | 'test'
  | 'write'
  | 'record'
  | 'revoke'
  | 'vault'
  | 'conflict';

export interface SecretOutcome {
  id: string;
  mount: string;
  path: string;
  outcome: SecretOutcomeKind;
  rotationId?: string | undefined;
  /** Live version replaced and written (rotated). */
  fromVersion?: number;
  toVersion?: number;
  /** The rotation was started by an earlier, interrupted run. */
  resumed?: boolean;
  /** The previous value was revoked in this run. */
  revoked?: boolean;
  /** Why it was skipped or failed, or what happened (one line, no values). */
  reason?: string;
  failedStep?: FailedStep;
  /** Stopped by an interrupt (SIGTERM/SIGINT) at `failedStep`; not counted as a failed attempt. */
  interrupted?: boolean;
  warnings?: string[];
}

/** A secret quarantined after a run (skipped until --force or rotate kv clear). */
export interface QuarantinedSecret {
  mount: string;
  path: string;
}

/** What a run reports when it ends (metrics), restic-style: typed events, no metrics library. */
export interface RotationReporter {
  runFinished(outcomes: readonly SecretOutcome[], quarantined: readonly QuarantinedSecret[], finished: Date): void;
}
