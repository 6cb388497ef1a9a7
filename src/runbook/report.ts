import type { VaultOpsError } from '../errors.js';
import type { JournalSink, RunActor, RunResult } from './journal.js';
import type { Confirmer, JsonValue, Runbook, StepFacts, StepPlan } from './types.js';

/** What a runbook run is given (RunOptions), tells as it goes (RunbookEvent) and returns (RunbookReport). */

/** Progress for the caller to render (the library never prints). */
export type RunbookEvent =
  | { type: 'step-started'; step: string; title: string; description: string; index: number; total: number }
  | {
      type: 'step-planned';
      step: string;
      plan: StepPlan;
      gate?: { prompt: string; phrase: string; automatable: boolean };
    }
  | { type: 'step-finished'; step: string; report: StepReport }
  | { type: 'note'; step: string; line: string };

/**
 * A step's status, in the words of the run's result: a step waiting at its gate is
 * `needs-confirmation` (not failed), one whose gate was refused `refused`, one stopped by Ctrl-C or a
 * signal `interrupted`; a step an earlier run completed is `already-done`, one it skipped `skipped`.
 */
export type StepStatus =
  | 'completed'
  | 'recovered'
  | 'skipped'
  | 'already-done'
  | 'planned'
  | 'failed'
  | 'needs-confirmation'
  | 'refused'
  | 'interrupted'
  | 'not-run';

export interface StepReport {
  id: string;
  title: string;
  status: StepStatus;
  summary?: string;
  /** The inspection's lines (what the step found / would do). */
  plan?: string[];
  warnings: string[];
  gate?: {
    prompt: string;
    phrase: string;
    automatable: boolean;
    outcome?: 'confirmed' | 'confirmed-by-flag' | 'refused' | 'needed' | 'interrupted';
  };
}

export interface RunbookReport {
  runbook: string;
  runId: string;
  /** The run this one resumed (the campaign's first run). */
  resumeOf?: string;
  journal: string;
  definitionHash: string;
  dryRun: boolean;
  result: RunResult | 'planned';
  steps: StepReport[];
  /** Facts of every step, merged by step id. */
  facts: Record<string, StepFacts>;
  warnings: string[];
  startedAt: string;
  finishedAt: string;
  /** Why the run stopped; the caller turns it into the exit status. */
  error?: VaultOpsError;
}

export interface RunbookHooks {
  /**
   * Called after a step's completion (or skip) is durably journaled. An error thrown here ends
   * the run at once with nothing more journaled, exactly as if the process had died (tests use it
   * to simulate a kill between steps).
   */
  afterStep?(step: string): Promise<void> | void;
}

export interface RunOptions<D> {
  runbook: Runbook<D>;
  deps: D;
  journalPath: string;
  /** Parameters of the run, journaled (no secret values); `identityKeys` must match on resume. */
  parameters: Record<string, JsonValue>;
  identityKeys: readonly string[];
  dryRun: boolean;
  resume: boolean;
  /** `--yes`: pass the gates of steps marked automatable. */
  yes: boolean;
  confirm: Confirmer;
  actor: RunActor;
  now?: () => Date;
  signal?: AbortSignal;
  /** The secret registry's scrub, applied to every journal line. */
  scrub?: (text: string) => string;
  onEvent?: (event: RunbookEvent) => void;
  hooks?: RunbookHooks;
  /** Open the journal (tests wrap the file journal). */
  openJournal?: (path: string, scrub: (text: string) => string) => Promise<JournalSink>;
}
