import type { DatabaseMount } from './database-mount.js';
import type { DatabaseLoginCheck } from './login-check.js';
import type { RotateRootOptions } from './options.js';
import type { BackupPort, RecordPort } from '../ports.js';

export type { BackupPort, GoodSnapshot, RecordPort } from '../ports.js';

/** Where the current root password comes from during re-bootstrap: a hidden prompt or --password-file, never argv. */
export interface RootPasswordSource {
  /** Why no password can be had here (e.g. no terminal and no --password-file), or undefined. */
  unavailable(): string | undefined;
  /** The password; the caller registers it as a secret at once. */
  read(): Promise<string>;
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
