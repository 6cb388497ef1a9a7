import { open, readFile, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VaultOpsError } from '../errors.js';
import type { JsonValue, StepFacts } from './types.js';

/** Who ran a step: the OS user and, when known, the Vault token's display name (never the token). */
export interface RunActor {
  user: string;
  vault?: string;
}

interface RecordBase {
  v: 1;
  time: string;
  /** Id of this process's run (a resumed run gets its own id and names the run it resumes). */
  run: string;
  runbook: string;
  actor: RunActor;
}

/** The event-specific part of a record. */
export type JournalEvent =
  | { event: 'run-started'; definitionHash: string; parameters: Record<string, JsonValue>; resumeOf?: string }
  | { event: 'step-started'; step: string }
  | { event: 'gate'; step: string; outcome: 'confirmed' | 'confirmed-by-flag' | 'refused' | 'needed' | 'interrupted' }
  | { event: 'action-started'; step: string }
  | {
      event: 'step-completed';
      step: string;
      summary: string;
      facts: StepFacts;
      warnings: string[];
      recovered?: boolean;
    }
  | { event: 'step-skipped'; step: string; reason: string; facts: StepFacts }
  | { event: 'step-failed'; step: string; error: { code: string; message: string }; stateUnchanged: boolean }
  | { event: 'run-finished'; result: RunResult };

export type JournalRecord = RecordBase & JournalEvent;

export type RunResult = 'completed' | 'failed' | 'needs-confirmation' | 'refused' | 'interrupted';

/** Where journal records go. The file journal is the real one; tests may wrap it. */
export interface JournalSink {
  readonly path: string;
  append(record: JournalRecord): Promise<void>;
  close(): Promise<void>;
}

/**
 * An append-only JSONL file, one record per line, each line flushed to disk (fdatasync) before the
 * engine goes on: after a crash the journal holds at least every transition that had an effect.
 * Every line passes through `scrub` (the secret registry) as a last line of defence; records are
 * built from names and non-secret facts only.
 */
export class FileJournal implements JournalSink {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly scrub: (line: string) => string,
  ) {}

  static async open(path: string, scrub: (line: string) => string = (s) => s): Promise<FileJournal> {
    await mkdir(dirname(path), { recursive: true });
    try {
      const handle = await open(path, 'a', 0o600);
      return new FileJournal(path, handle, scrub);
    } catch (err) {
      throw new VaultOpsError(
        'config',
        `cannot open the runbook journal ${path} for appending (${(err as NodeJS.ErrnoException).code ?? 'error'}): ` +
          `choose a writable file with --journal`,
        { cause: err },
      );
    }
  }

  async append(record: JournalRecord): Promise<void> {
    const line = `${this.scrub(JSON.stringify(record))}\n`;
    await this.handle.appendFile(line, 'utf8');
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/**
 * Every record of a journal file; a missing file is an empty journal. A torn last line (the process
 * died while writing it) is ignored; any other malformed line is an error naming the line.
 */
export async function readJournal(path: string): Promise<JournalRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new VaultOpsError(
      'config',
      `cannot read the runbook journal ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
  const lines = text.split('\n');
  const records: JournalRecord[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as JournalRecord);
    } catch (err) {
      const isLast = lines.slice(index + 1).every((l) => l.trim() === '');
      if (!isLast)
        throw new VaultOpsError(
          'config',
          `the runbook journal ${path} is damaged at line ${index + 1} (not JSON): repair or move it, then run again`,
          { cause: err },
        );
    }
  });
  return records;
}

/** What the journal says about the latest run of a runbook and the runs that resumed it. */
export interface Campaign {
  /** Id of the run that started it (resumed runs name it in `resumeOf`). */
  id: string;
  definitionHash: string;
  parameters: Record<string, JsonValue>;
  startedAt: string;
  /** Completed or skipped steps, with their facts. */
  done: Map<string, { facts: StepFacts; status: 'completed' | 'skipped'; summary: string }>;
  /** Steps whose action started and never completed (killed, or failed with an unknown effect). */
  interrupted: Set<string>;
  /** Steps whose action started at least once (completed or not). */
  actionsStarted: Set<string>;
  /** Result of the last finished run of this campaign, if the last run finished at all. */
  lastResult?: RunResult;
  /** The campaign's last step event, for messages. */
  lastStep?: string;
}

/** The latest campaign of `runbook` in the journal, or undefined when it holds none. */
export function latestCampaign(records: readonly JournalRecord[], runbook: string): Campaign | undefined {
  let campaign: Campaign | undefined;
  let currentRun: string | undefined;
  for (const r of records) {
    if (r.runbook !== runbook) continue;
    if (r.event === 'run-started') {
      currentRun = r.run;
      const continues = r.resumeOf !== undefined && campaign !== undefined && campaign.id === r.resumeOf;
      if (!continues) {
        campaign = {
          id: r.run,
          definitionHash: r.definitionHash,
          parameters: r.parameters,
          startedAt: r.time,
          done: new Map(),
          interrupted: new Set(),
          actionsStarted: new Set(),
        };
      }
      if (campaign) delete campaign.lastResult;
      continue;
    }
    if (!campaign || currentRun === undefined || r.run !== currentRun) continue;
    switch (r.event) {
      case 'action-started':
        campaign.actionsStarted.add(r.step);
        campaign.interrupted.add(r.step);
        campaign.lastStep = r.step;
        break;
      case 'step-completed':
        campaign.done.set(r.step, { facts: r.facts, status: 'completed', summary: r.summary });
        campaign.interrupted.delete(r.step);
        campaign.lastStep = r.step;
        break;
      case 'step-skipped':
        campaign.done.set(r.step, { facts: r.facts, status: 'skipped', summary: r.reason });
        campaign.lastStep = r.step;
        break;
      case 'step-failed':
        // A failure that left the state unchanged is as if the action never started.
        if (r.stateUnchanged) campaign.interrupted.delete(r.step);
        campaign.lastStep = r.step;
        break;
      case 'run-finished':
        campaign.lastResult = r.result;
        break;
      default:
        break;
    }
  }
  return campaign;
}
