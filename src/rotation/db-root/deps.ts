import type { DatabaseMount } from './database-mount.js';
import type { DatabaseLoginCheck } from './login-check.js';
import type { RotateRootOptions } from './options.js';

/** Where the current root password comes from during re-bootstrap: a hidden prompt or --password-file, never argv. */
export interface RootPasswordSource {
  /** Why no password can be had here (e.g. no terminal and no --password-file), or undefined. */
  unavailable(): string | undefined;
  /** The password; the caller registers it as a secret at once. */
  read(): Promise<string>;
}

/** The snapshot store, as the runbook needs it (adapter over the store modules, built by the command). */
export interface BackupPort {
  /** The store URL without credentials, for messages. */
  readonly url: string;
  /**
   * The newest snapshot that can give back the state before the rotation: it holds `mount` (its
   * manifest lists it) and, when it was drilled, its last drill passed. `passedOver` says why newer
   * ones do not count.
   */
  latestGood(mount?: string): Promise<{ snapshot?: GoodSnapshot; passedOver: string[] }>;
  /** Take a snapshot now and store it; resolves once it is stored as good. */
  take(signal: AbortSignal): Promise<{ id: string }>;
}

export interface GoodSnapshot {
  id: string;
  time: Date;
  /** Its last restore drill passed, or it was never drilled. */
  drill: 'passed' | 'none';
}

/** Where the rotation record goes (`--record-to`); no secret values in it. */
export interface RecordPort {
  readonly url: string;
  write(record: {
    time: Date;
    kind: 'database-root';
    mount: string;
    path: string;
    rotationId: string;
    /** The cluster and its raft applied index around the rotation: a restore orders the record by them. */
    clusterId?: string;
    raftIndex?: number;
    raftIndexBefore?: number;
    /** The run's own snapshots (backup-before's, backup-after's). */
    snapshotBefore?: string;
    snapshotAfter?: string;
  }): Promise<void>;
}

export interface RotateRootDeps {
  db: DatabaseMount;
  options: RotateRootOptions;
  loginChecks: readonly DatabaseLoginCheck[];
  rootPassword: RootPasswordSource;
  backups?: BackupPort;
  records?: RecordPort;
  secrets: { add(value: string | undefined | null): void };
  now: () => Date;
  /** Memory of this process only: the password the operator gave during re-bootstrap. */
  session: { operatorPassword?: string };
}
