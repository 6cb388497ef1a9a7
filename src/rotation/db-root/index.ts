import type { JournalSink, RunActor } from '../../runbook/journal.js';
import type { RunbookEvent, RunbookHooks, RunbookReport } from '../../runbook/report.js';
import { runRunbook } from '../../runbook/run.js';
import type { Confirmer } from '../../runbook/types.js';
import { DatabaseMount, type VaultApi } from './database-mount.js';
import type { BackupPort, RecordPort, RootPasswordSource, RotateRootDeps } from './deps.js';
import { defaultLoginChecks, type DatabaseLoginCheck } from './login-check.js';
import { identityParameters, journalParameters, type RotateRootOptions } from './options.js';
import { rotateRootRunbook } from './steps.js';

export { rotateRootRunbook } from './steps.js';
export type { BackupPort, RecordPort, RootPasswordSource } from './deps.js';
export { RotateRootOptionsSchema, rotateRootOptionSources, withRunFlags, type RotateRootOptions } from './options.js';

export interface RotateRootInput {
  options: RotateRootOptions;
  vault: VaultApi;
  confirm: Confirmer;
  rootPassword: RootPasswordSource;
  actor: RunActor;
  secrets: { add(value: string | undefined | null): void; scrub(text: string): string };
  loginChecks?: readonly DatabaseLoginCheck[];
  backups?: BackupPort;
  records?: RecordPort;
  now?: () => Date;
  signal?: AbortSignal;
  onEvent?: ((event: RunbookEvent) => void) | undefined;
  hooks?: RunbookHooks;
  openJournal?: (path: string, scrub: (text: string) => string) => Promise<JournalSink>;
}

/** The database root rotation runbook (issue 6): one call for the CLI, the tests and any other caller. */
export function runRotateRoot(input: RotateRootInput): Promise<RunbookReport> {
  const now = input.now ?? (() => new Date());
  const deps: RotateRootDeps = {
    db: new DatabaseMount(input.vault, input.options.mount),
    options: input.options,
    loginChecks:
      input.loginChecks ?? defaultLoginChecks(input.options.dbCaCert ? { caFile: input.options.dbCaCert } : {}),
    rootPassword: input.rootPassword,
    ...(input.backups ? { backups: input.backups } : {}),
    ...(input.records ? { records: input.records } : {}),
    secrets: input.secrets,
    now,
    session: {},
  };
  return runRunbook({
    runbook: rotateRootRunbook,
    deps,
    journalPath: input.options.journal,
    parameters: journalParameters(input.options),
    identityKeys: identityParameters,
    dryRun: input.options.dryRun,
    resume: input.options.resume,
    yes: input.options.yes,
    confirm: input.confirm,
    actor: input.actor,
    now,
    scrub: (text) => input.secrets.scrub(text),
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.onEvent ? { onEvent: input.onEvent } : {}),
    ...(input.hooks ? { hooks: input.hooks } : {}),
    ...(input.openJournal ? { openJournal: input.openJournal } : {}),
  });
}
