import { randomBytes } from 'node:crypto';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import { formatCompactUtc } from '../time/compact-utc.js';
import { definitionHash } from './definition-hash.js';
import {
  FileJournal,
  latestCampaign,
  readJournal,
  type Campaign,
  type JournalEvent,
  type JournalRecord,
} from './journal.js';
import type { Runbook, RunbookStep, StepContext, StepFacts, StepOutcome } from './types.js';
import type { RunbookEvent, RunOptions, RunbookReport, StepReport } from './report.js';

/**
 * Drive a runbook. The state machine per step: (already done → skip) → started → [interrupted
 * earlier → verify, re-run only if the step allows] → inspect (skip?) → gate → action-started →
 * action → verify → completed. Every transition is journaled before the next one starts.
 *
 * Returns a report for every run that got going, including failed ones (`report.error`); throws
 * only when the run cannot start (journal unreadable, resume refused, definition changed).
 */
export async function runRunbook<D>(options: RunOptions<D>): Promise<RunbookReport> {
  const { runbook } = options;
  const now = options.now ?? (() => new Date());
  const scrub = options.scrub ?? ((s: string) => s);
  const signal = options.signal ?? new AbortController().signal;
  const hash = definitionHash(runbook as Runbook<unknown>);
  const runId = `${formatCompactUtc(now())}-${randomBytes(3).toString('hex')}`;
  const emit = options.onEvent ?? (() => undefined);

  const campaign = await priorCampaign(options, hash);
  const facts = new Map<string, StepFacts>();
  for (const [step, done] of campaign?.done ?? []) facts.set(step, done.facts);

  const report: RunbookReport = {
    runbook: runbook.name,
    runId,
    ...(campaign ? { resumeOf: campaign.id } : {}),
    journal: options.journalPath,
    definitionHash: hash,
    dryRun: options.dryRun,
    result: options.dryRun ? 'planned' : 'completed',
    steps: runbook.steps.map((s) => ({ id: s.id, title: s.title, status: 'not-run', warnings: [] })),
    facts: {},
    warnings: [],
    startedAt: now().toISOString(),
    finishedAt: '',
  };

  const stepContext = (step: RunbookStep<D>): StepContext<D> => ({
    deps: options.deps,
    facts,
    dryRun: options.dryRun,
    signal,
    note: (line) => emit({ type: 'note', step: step.id, line: scrub(line) }),
  });

  if (options.dryRun) {
    await planAll(options, report, campaign, facts, stepContext, emit, scrub);
    report.finishedAt = now().toISOString();
    report.facts = Object.fromEntries(facts);
    return report;
  }

  const openJournal = options.openJournal ?? ((path, s) => FileJournal.open(path, s));
  const journal = await openJournal(options.journalPath, scrub);
  const base = () => ({
    v: 1 as const,
    time: now().toISOString(),
    run: runId,
    runbook: runbook.name,
    actor: options.actor,
  });
  const write = (event: JournalEvent) => journal.append({ ...base(), ...event } as JournalRecord);

  try {
    await write({
      event: 'run-started',
      definitionHash: hash,
      parameters: options.parameters,
      ...(campaign ? { resumeOf: campaign.id } : {}),
    });
    for (const [index, step] of runbook.steps.entries()) {
      const entry = report.steps[index]!;
      if (reportAlreadyDone(entry, step.id, campaign, emit)) continue;
      emit(stepStarted(step, index, runbook.steps.length));
      await write({ event: 'step-started', step: step.id });
      let actionStarted = false;
      const executeStep = async (): Promise<void> => {
        if (signal.aborted)
          throw new VaultOpsError(
            'aborted',
            `interrupted by a signal before step ${step.id}: nothing of it happened; ${doneSoFar(report)}; ` +
              `continue with the same command and --resume`,
          );
        const ctx = stepContext(step);
        if (campaign?.interrupted.has(step.id)) {
          const recovered = await recoverInterrupted(runbook.name, step, ctx);
          if (recovered) {
            const warnings = [
              `step ${step.id} was interrupted by an earlier run; its verification passes, so it was not repeated`,
              ...(recovered.warnings ?? []),
            ];
            facts.set(step.id, recovered.facts ?? {});
            Object.assign(entry, { status: 'recovered', summary: recovered.summary, warnings });
            await write({
              event: 'step-completed',
              step: step.id,
              summary: recovered.summary,
              facts: recovered.facts ?? {},
              warnings,
              recovered: true,
            });
            emit({ type: 'step-finished', step: step.id, report: entry });
            return;
          }
        }
        const plan = await step.inspect(ctx);
        entry.plan = plan.lines;
        entry.warnings.push(...(plan.warnings ?? []));
        if (plan.facts) facts.set(step.id, { ...plan.facts });
        if (plan.skip) {
          entry.status = 'skipped';
          entry.summary = plan.skip;
          await write({ event: 'step-skipped', step: step.id, reason: plan.skip, facts: plan.facts ?? {} });
          emit({ type: 'step-finished', step: step.id, report: entry });
          return;
        }
        emit({ type: 'step-planned', step: step.id, plan });
        if (step.gate) {
          const text = step.gateRequest?.(ctx) ?? { prompt: step.title, phrase: step.id };
          entry.gate = { ...text, automatable: step.gate.automatable };
          const outcome = await passGate(options, step, text);
          entry.gate.outcome = outcome;
          await write({ event: 'gate', step: step.id, outcome });
          if (outcome === 'needed') {
            throw new VaultOpsError(
              'confirmation',
              `step ${step.id} needs a typed confirmation ("${text.phrase}"): run it on a ` +
                `terminal${step.gate.automatable ? ', or pass --yes' : ' (--yes does not apply to this step)'}, then ` +
                `continue with --resume`,
            );
          }
          if (outcome === 'refused')
            throw new VaultOpsError(
              'confirmation',
              `confirmation of step ${step.id} refused: nothing was changed by this step; continue later with --resume`,
            );
          if (outcome === 'interrupted')
            throw new VaultOpsError(
              'confirmation',
              `interrupted (Ctrl-C) at the confirmation of step ${step.id}: nothing of this step happened; ` +
                `${doneSoFar(report)}; continue with the same command and --resume`,
            );
        }
        if (step.mutates) {
          await write({ event: 'action-started', step: step.id });
          actionStarted = true;
        }
        const acted = await step.action(ctx);
        facts.set(step.id, { ...(facts.get(step.id) ?? {}), ...(acted.facts ?? {}) });
        const verified = await step.verify(ctx);
        const merged = { ...(facts.get(step.id) ?? {}), ...(verified.facts ?? {}) };
        facts.set(step.id, merged);
        const warnings = [...entry.warnings, ...(acted.warnings ?? []), ...(verified.warnings ?? [])];
        const summary = verified.summary ? `${acted.summary}; ${verified.summary}` : acted.summary;
        Object.assign(entry, { status: 'completed', summary, warnings });
        await write({ event: 'step-completed', step: step.id, summary, facts: merged, warnings });
        emit({ type: 'step-finished', step: step.id, report: entry });
      };
      try {
        await executeStep();
      } catch (err) {
        const error = asVaultOpsError(err);
        const stateUnchanged = !actionStarted || (step.failureLeavesStateUnchanged?.(err) ?? false);
        entry.summary = scrub(error.message);
        if (entry.gate?.outcome === 'needed' && !actionStarted) report.result = 'needs-confirmation';
        else if (entry.gate?.outcome === 'refused' && !actionStarted) report.result = 'refused';
        else if ((entry.gate?.outcome === 'interrupted' && !actionStarted) || error.code === 'aborted')
          report.result = 'interrupted';
        else report.result = 'failed';
        entry.status = report.result;
        await write({
          event: 'step-failed',
          step: step.id,
          error: { code: error.code, message: scrub(error.message) },
          stateUnchanged,
        });
        await write({ event: 'run-finished', result: report.result });
        emit({ type: 'step-finished', step: step.id, report: entry });
        report.error = error;
        return finish(report, facts, now);
      }
      await options.hooks?.afterStep?.(step.id);
    }
    await write({ event: 'run-finished', result: 'completed' });
    return finish(report, facts, now);
  } finally {
    await journal.close();
  }
}

function finish(report: RunbookReport, facts: Map<string, StepFacts>, now: () => Date): RunbookReport {
  report.finishedAt = now().toISOString();
  report.facts = Object.fromEntries(facts);
  report.warnings = report.steps.flatMap((s) => s.warnings);
  return report;
}

function asVaultOpsError(err: unknown): VaultOpsError {
  if (isVaultOpsError(err)) return err;
  return new VaultOpsError('internal', `unexpected error: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

/** The campaign this run continues (resume), after checking it may be continued; or undefined for a fresh run. */
async function priorCampaign<D>(options: RunOptions<D>, hash: string): Promise<Campaign | undefined> {
  const { journalPath, runbook } = options;
  const campaign = latestCampaign(await readJournal(journalPath), runbook.name);
  if (!options.resume) {
    if (!options.dryRun && campaign && campaign.lastResult !== 'completed') {
      const gatedStarted = runbook.steps.filter((s) => s.gate && campaign.actionsStarted.has(s.id)).map((s) => s.id);
      if (gatedStarted.length > 0) {
        throw new VaultOpsError(
          'usage',
          `the unfinished run in ${journalPath} (started ${campaign.startedAt}) already acted in step ` +
            `${gatedStarted.join(', ')}: continue it with --resume (a new run could repeat it), or use another ` +
            `--journal after checking the state by hand`,
        );
      }
    }
    return undefined;
  }
  if (!campaign)
    throw new VaultOpsError(
      'usage',
      `nothing to resume: ${journalPath} holds no ${runbook.name} run (run without --resume to start one, or point ` +
        `--journal at the run's journal)`,
    );
  if (campaign.lastResult === 'completed')
    throw new VaultOpsError(
      'usage',
      `nothing to resume: the ${runbook.name} run in ${journalPath} that started ${campaign.startedAt} completed; ` +
        `start a new run without --resume`,
    );
  if (campaign.definitionHash !== hash) {
    throw new VaultOpsError(
      'config',
      `refusing to resume: the ${runbook.name} runbook changed since the run in ${journalPath} started ` +
        `(${campaign.definitionHash} then, ${hash} now); finish it with the vault-ops version that started it, or ` +
        `check the state by hand (runbooks/${runbook.name}.md) and start a new run with another --journal`,
    );
  }
  const mismatched = options.identityKeys.filter(
    (k) => JSON.stringify(campaign.parameters[k]) !== JSON.stringify(options.parameters[k]),
  );
  if (mismatched.length > 0) {
    const was = mismatched.map((k) => `${k}=${JSON.stringify(campaign.parameters[k])}`).join(', ');
    throw new VaultOpsError(
      'usage',
      `refusing to resume: the run in ${journalPath} was for ${was}; pass the same values, or use another --journal`,
    );
  }
  return campaign;
}

/** An interrupted step whose verification passes is done; otherwise re-run it if it allows, or stop. */
async function recoverInterrupted<D>(
  runbookName: string,
  step: RunbookStep<D>,
  ctx: StepContext<D>,
): Promise<StepOutcome | undefined> {
  try {
    return await step.verify(ctx);
  } catch (err) {
    if (step.rerunnable) return undefined;
    const why = isVaultOpsError(err) ? err.message : String(err);
    throw new VaultOpsError(
      'verification',
      `step ${step.id} was interrupted by an earlier run and its verification now fails (${why}): it is not repeated ` +
        `automatically; follow "${step.id}" in runbooks/${runbookName}.md`,
      { cause: err },
    );
  }
}

async function passGate<D>(options: RunOptions<D>, step: RunbookStep<D>, text: { prompt: string; phrase: string }) {
  const automatable = step.gate?.automatable === true;
  if (options.yes && automatable) return 'confirmed-by-flag' as const;
  try {
    const ok = await options.confirm({
      runbook: options.runbook.name,
      step: step.id,
      prompt: text.prompt,
      phrase: text.phrase,
      automatable,
    });
    return ok ? ('confirmed' as const) : ('refused' as const);
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'confirmation') return 'needed' as const;
    // Ctrl-C at the prompt: the operator stopped here; nothing of the step happened.
    if (isVaultOpsError(err) && err.code === 'aborted') return 'interrupted' as const;
    throw err;
  }
}

/** What an interrupted run has done, for its message: the steps completed (by it or an earlier run). */
function doneSoFar(report: RunbookReport): string {
  const done = report.steps.filter((s) => ['completed', 'recovered', 'already-done'].includes(s.status));
  return done.length ? `done and journaled: ${done.map((s) => s.id).join(', ')}` : 'no step has acted yet';
}

/** A step an earlier run of this campaign completed: reported as such (real run and dry run alike). */
function reportAlreadyDone(
  entry: StepReport,
  stepId: string,
  campaign: Campaign | undefined,
  emit: (event: RunbookEvent) => void,
): boolean {
  const done = campaign?.done.get(stepId);
  if (!done) return false;
  entry.status = done.status === 'skipped' ? 'skipped' : 'already-done';
  entry.summary = `${done.status} by an earlier run: ${done.summary}`;
  emit({ type: 'step-finished', step: stepId, report: entry });
  return true;
}

/** `--dry-run`: inspect every remaining step against the live state; change nothing, journal nothing. */
async function planAll<D>(
  options: RunOptions<D>,
  report: RunbookReport,
  campaign: Campaign | undefined,
  facts: Map<string, StepFacts>,
  stepContext: (step: RunbookStep<D>) => StepContext<D>,
  emit: (event: RunbookEvent) => void,
  scrub: (text: string) => string,
): Promise<void> {
  for (const [index, step] of options.runbook.steps.entries()) {
    const entry = report.steps[index]!;
    if (reportAlreadyDone(entry, step.id, campaign, emit)) continue;
    emit(stepStarted(step, index, options.runbook.steps.length));
    const ctx = stepContext(step);
    try {
      const plan = await step.inspect(ctx);
      if (plan.facts) facts.set(step.id, plan.facts);
      entry.plan = plan.lines;
      entry.warnings.push(...(plan.warnings ?? []));
      if (campaign?.interrupted.has(step.id))
        entry.warnings.push(
          `an earlier run was interrupted in this step: on --resume its verification decides whether it ` +
            `${step.rerunnable ? 'runs again' : 'counts as done (it is never repeated automatically)'}`,
        );
      if (plan.skip) {
        entry.status = 'skipped';
        entry.summary = plan.skip;
      } else {
        entry.status = 'planned';
        entry.summary = step.description;
        if (step.gate) {
          const text = step.gateRequest?.(ctx) ?? { prompt: step.title, phrase: step.id };
          entry.gate = { ...text, automatable: step.gate.automatable };
        }
      }
      emit({ type: 'step-planned', step: step.id, plan, ...(entry.gate ? { gate: entry.gate } : {}) });
      emit({ type: 'step-finished', step: step.id, report: entry });
    } catch (err) {
      const error = asVaultOpsError(err);
      entry.status = 'failed';
      entry.summary = scrub(error.message);
      report.error = error;
      report.result = 'failed';
      emit({ type: 'step-finished', step: step.id, report: entry });
      break;
    }
  }
  report.warnings = report.steps.flatMap((s) => s.warnings);
}

function stepStarted<D>(step: RunbookStep<D>, index: number, total: number): RunbookEvent {
  return { type: 'step-started', step: step.id, title: step.title, description: step.description, index, total };
}
