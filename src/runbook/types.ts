/**
 * The runbook engine's vocabulary. A runbook is a fixed, ordered list of steps; each step has a
 * read-only inspection (what it would do against the live state), an optional confirmation gate,
 * an action and a verification. The engine (run.ts) drives them as a resumable state machine and
 * journals every transition (journal.ts). Runbook-specific dependencies travel in `deps`.
 *
 * Nothing a step returns may hold a secret value: summaries, plan lines, facts and warnings go to
 * the journal, the logs and the terminal.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Non-secret findings of a step, kept in the journal and handed to later steps (also on resume). */
export type StepFacts = Record<string, JsonValue>;

/** What a step would do (dry run) or is about to do (real run), found by read-only inspection. */
export interface StepPlan {
  /** Lines for people: what the step found and what it would do. */
  lines: string[];
  /** Set when the step does not apply on this run (the reason is shown and journaled). */
  skip?: string;
  /** Findings later steps rely on (e.g. which path the runbook takes). */
  facts?: StepFacts;
  warnings?: string[];
}

/** What an action or a verification established. */
export interface StepOutcome {
  summary: string;
  facts?: StepFacts;
  warnings?: string[];
}

/** The confirmation an operator gives before a gated step acts. */
export interface GateRequest {
  runbook: string;
  step: string;
  /** One line: what is about to happen. */
  prompt: string;
  /** What to type to confirm (typed confirmation). */
  phrase: string;
  /** `--yes` may pass this gate. */
  automatable: boolean;
}

/**
 * Asks the operator. Returns true when confirmed, false when refused. Throws a VaultOpsError
 * 'confirmation' when nobody can be asked (not interactive); the engine journals that as "needed".
 * Throws 'aborted' when the operator interrupted the question (Ctrl-C): journaled as "interrupted".
 */
export type Confirmer = (request: GateRequest) => Promise<boolean>;

export interface StepContext<D> {
  deps: D;
  /** Facts of every earlier step of this run (including steps completed by an earlier, resumed run). */
  facts: ReadonlyMap<string, StepFacts>;
  /** True during `--dry-run`: only `inspect` is called. */
  dryRun: boolean;
  signal: AbortSignal;
  /** Progress line for the operator (not journaled). */
  note(line: string): void;
}

export interface RunbookStep<D> {
  /** Stable kebab-case id; part of the definition hash; named in the journal and the markdown runbook. */
  id: string;
  title: string;
  /** What the step does, for the plan and the on-call markdown. */
  description: string;
  /** True when the action changes anything outside this process (Vault, the database, a store). */
  mutates: boolean;
  /** A confirmation gate before the action; `automatable` lets `--yes` pass it. */
  gate?: { automatable: boolean };
  /**
   * After an interruption between the start of the action and its completion record: may the
   * action simply run again? When false, the engine runs `verify` and stops if it fails.
   */
  rerunnable: boolean;
  /**
   * When the action threw: did it certainly change nothing (e.g. the server refused the request
   * before acting)? Then a resumed run treats the step as never started. Default: unknown (false).
   */
  failureLeavesStateUnchanged?(err: unknown): boolean;
  /** Read-only precondition check and plan. May throw a VaultOpsError to refuse. */
  inspect(ctx: StepContext<D>): Promise<StepPlan>;
  /** The confirmation text; only called for gated steps. */
  gateRequest?(ctx: StepContext<D>): { prompt: string; phrase: string };
  action(ctx: StepContext<D>): Promise<StepOutcome>;
  /** Proves the action took effect; throws (code 'verification' preferably) when it did not. */
  verify(ctx: StepContext<D>): Promise<StepOutcome>;
}

export interface Runbook<D> {
  /** e.g. 'rotate-root'. */
  name: string;
  /** Bump when step semantics change without a change of ids or descriptions. */
  version: number;
  steps: readonly RunbookStep<D>[];
}
