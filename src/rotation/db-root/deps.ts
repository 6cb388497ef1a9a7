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
  /** The newest snapshot the catalogue records as good, if any. */
  latestGood(): Promise<{ id: string; time: Date } | undefined>;
  /** Take a snapshot now and store it; resolves once it is stored as good. */
  take(signal: AbortSignal): Promise<{ id: string }>;
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
