import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { VaultOpsError, shellArg } from '../../errors.js';
import { StoreOptionsSchema, storeOptionSources } from '../../options/store.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources } from '../../options/snapshot-protection.js';
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import { rotationRecords, snapshotBackups } from '../../rotation/ports.js';
import type { RunbookEvent, RunbookReport } from '../../runbook/report.js';
import {
  runRotateRoot,
  RotateRootOptionsSchema,
  rotateRootOptionSources,
  withRunFlags,
  type RootPasswordSource,
  type RotateRootOptions,
} from '../../rotation/db-root/index.js';
import type { CommandContext } from '../context.js';
import { openCommandStore } from '../command-store.js';
import { resolveSettings } from '../settings.js';
import { terminalConfirmer } from '../confirm.js';
import { printLines } from '../output.js';
import { abortOnSignals } from '../signals.js';

/** `runbook rotate-root`: the journalled database root rotation, with its stores and confirmation gates. */
export async function runRotateRootRunbook(ctx: CommandContext, cmd: Command): Promise<void> {
  // Every setting at once, validated before any store is opened or Vault contacted.
  const all = resolveSettings(ctx, cmd.opts(), {
    runbook: [RotateRootOptionsSchema, rotateRootOptionSources],
    store: [StoreOptionsSchema, storeOptionSources],
    protection: [SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources],
  });
  const options = withRunFlags(all.runbook, cmd.opts());
  const text = ctx.options.output === 'text';
  const stores: SnapshotRepository[] = [];
  // Ctrl-C / SIGTERM stop the run at the next step boundary, journaled, with a message saying what is done.
  const interrupt = abortOnSignals();
  let report: RunbookReport;
  try {
    // The stores and the signing key before the Vault login: a bad store option is reported without
    // contacting Vault.
    const snapshotStore = options.snapshotStore
      ? await openCommandStore(ctx, options.snapshotStore, all.store, 'write')
      : undefined;
    if (snapshotStore) stores.push(snapshotStore);
    // The before/after snapshots are protected like snapshot save's (same flags and env).
    const protection = snapshotStore
      ? await resolveSnapshotProtection({ ...all.store, ...all.protection }, snapshotStore)
      : undefined;
    const recordStore = options.recordTo
      ? await openCommandStore(ctx, options.recordTo, all.store, 'write')
      : undefined;
    if (recordStore) stores.push(recordStore);
    const vault = await ctx.authenticatedVault();
    report = await runRotateRoot({
      options,
      vault,
      confirm: terminalConfirmer(ctx),
      rootPassword: passwordSource(options, ctx),
      actor: await actor(ctx),
      secrets: ctx.secrets,
      ...(snapshotStore
        ? {
            backups: snapshotBackups({
              vault,
              repository: snapshotStore,
              logger: ctx.logger,
              ...(protection ? { protection } : {}),
            }),
          }
        : {}),
      ...(recordStore
        ? {
            records: rotationRecords(recordStore, {
              connection: options.connection,
              detail: 'database root rotated by runbook rotate-root',
            }),
          }
        : {}),
      ...(text ? { onEvent: (event: RunbookEvent) => renderEvent(ctx, event, options.dryRun) } : {}),
      signal: interrupt.signal,
    });
  } finally {
    interrupt.dispose();
    for (const store of stores) await store.close().catch(() => undefined);
  }
  if (text)
    printLines(
      ctx.stdout,
      renderSummary(report, resumeCommand(options)).map((l) => ctx.secrets.scrub(l)),
    );
  else ctx.stdout.write(`${ctx.secrets.scrub(JSON.stringify(reportJson(report, options), null, 2))}\n`);
  if (report.error) throw report.error;
}

async function actor(ctx: CommandContext): Promise<{ user: string; vault?: string }> {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  try {
    const client = await ctx.authenticatedVault();
    const body = await client.read<{ data?: { display_name?: string } }>('auth/token/lookup-self');
    const name = body.data?.display_name;
    return name ? { user, vault: name } : { user };
  } catch {
    return { user };
  }
}

/** `--password-file`, else a hidden prompt on a terminal; never a flag value or an environment variable. */
function passwordSource(options: RotateRootOptions, ctx: CommandContext): RootPasswordSource {
  return {
    unavailable() {
      if (options.passwordFile)
        return existsSync(options.passwordFile) ? undefined : `--password-file ${options.passwordFile} does not exist`;
      return ctx.terminal.interactive
        ? undefined
        : 'no terminal for a hidden prompt: pass --password-file FILE (a 0600 file holding only the password)';
    },
    async read() {
      if (options.passwordFile) {
        const path = resolvePath(options.passwordFile);
        const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
          throw new VaultOpsError('config', `cannot read --password-file ${path} (${err.code ?? 'error'})`);
        });
        if ((info.mode & 0o077) !== 0)
          ctx.logger.warn({ file: path }, 'the password file is readable by group or others: chmod 600 it');
        const value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
        ctx.secrets.add(value);
        return value;
      }
      if (!ctx.terminal.interactive)
        throw new VaultOpsError('usage', 'no terminal for a hidden prompt: pass --password-file FILE');
      const value = await ctx.terminal.promptHidden('Current root password (not shown): ');
      ctx.secrets.add(value);
      return value;
    },
  };
}

/**
 * The command that continues this run: the same mount, connection, journal and stores, with
 * --resume (and --yes when this run had it). Never a secret: the password comes from its file.
 */
export function resumeCommand(o: RotateRootOptions): string {
  const parts = [
    'vault-ops runbook rotate-root',
    `--mount ${shellArg(o.mount)}`,
    `--connection ${shellArg(o.connection)}`,
  ];
  parts.push(`--journal ${shellArg(o.journal)}`);
  if (o.snapshotStore) parts.push(`--snapshot-store ${shellArg(o.snapshotStore)}`);
  if (o.recordTo) parts.push(`--record-to ${shellArg(o.recordTo)}`);
  for (const role of o.canaryStaticRole) parts.push(`--canary-static-role ${shellArg(role)}`);
  if (o.rebootstrap) parts.push('--rebootstrap');
  if (o.passwordFile) parts.push(`--password-file ${shellArg(o.passwordFile)}`);
  if (o.allowSharedRoot) parts.push('--allow-shared-root');
  if (o.yes) parts.push('--yes');
  parts.push('--resume');
  return parts.join(' ');
}

function renderEvent(ctx: CommandContext, event: RunbookEvent, dryRun: boolean): void {
  const out = (line: string) => ctx.stdout.write(`${ctx.secrets.scrub(line)}\n`);
  // A step's plan is written for the dry run ("would …"); in a live run it is what happens next.
  const tense = (line: string) => (dryRun ? line : line.replace(/\bwould\b/g, 'will'));
  switch (event.type) {
    case 'step-started':
      out(`\n[${event.index + 1}/${event.total}] ${event.title} (${event.step})`);
      if (dryRun) out(`    ${event.description}`);
      break;
    case 'step-planned':
      for (const line of event.plan.lines) out(`    · ${tense(line)}`);
      if (event.gate)
        out(
          `    gate: type "${event.gate.phrase}" to ` +
            `confirm${event.gate.automatable ? ' (or --yes)' : ' (--yes does not apply)'}`,
        );
      break;
    case 'note':
      out(`    - ${event.line}`);
      break;
    case 'step-finished': {
      const r = event.report;
      if (r.status === 'already-done') out(`\n[done] ${r.title} (${r.id}): ${r.summary ?? ''}`);
      else {
        for (const warning of r.warnings) out(`    ! ${warning}`);
        if (r.status === 'skipped') out(`    => skipped: ${r.summary ?? ''}`);
        else if (r.status === 'planned') out(`    => would run${r.gate ? ' after the confirmation gate' : ''}`);
        else out(`    => ${r.status}${r.summary ? `: ${r.summary}` : ''}`);
      }
      break;
    }
  }
}

function renderSummary(report: RunbookReport, resume: string): string[] {
  const lines = [
    '',
    report.dryRun
      ? `Plan for runbook ${report.runbook} (dry run: nothing was changed)`
      : `Runbook ${report.runbook}: ${report.result.toUpperCase()}`,
  ];
  for (const [i, step] of report.steps.entries())
    lines.push(`  ${String(i + 1).padStart(2)}. ${step.id.padEnd(14)} ${step.status}`);
  const warnings = [...new Set(report.warnings)];
  if (warnings.length) lines.push('', 'Warnings:', ...warnings.map((w) => `  ! ${w}`));
  if (report.dryRun)
    lines.push('', 'Run without --dry-run to execute; each gated step asks for a typed confirmation (or --yes).');
  else {
    lines.push('', `Journal: ${report.journal}`);
    if (report.result !== 'completed')
      lines.push(
        report.result === 'failed'
          ? 'Fix the cause (runbooks/rotate-root.md, "Recovering from each failure"), then continue with:'
          : 'Continue with:',
        `  ${resume}`,
      );
  }
  return lines;
}

/** The stable JSON shape of `--output json`; `next` is the command that continues an unfinished run. */
function reportJson(report: RunbookReport, options: RotateRootOptions): Record<string, unknown> {
  const { error, ...rest } = report;
  return {
    ...rest,
    error: error ? { code: error.code, message: error.message, exitCode: error.exitCode } : null,
    next: !report.dryRun && report.result !== 'completed' ? resumeCommand(options) : null,
  };
}
