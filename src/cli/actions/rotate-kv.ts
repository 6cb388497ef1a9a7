import { hostname } from 'node:os';
import type { Command } from 'commander';
import { VaultOpsError } from '../../errors.js';
import { parseDuration } from '../../time/duration.js';
import { MetricsOptionsSchema, metricsOptionSources } from '../../options/metrics.js';
import {
  RotateKvOptionsSchema,
  rotateKvOptionSources as sources,
  type RotateKvOptions,
} from '../../options/rotate-kv.js';
import { StoreOptionsSchema, storeOptionSources } from '../../options/store.js';
import { SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources } from '../../options/snapshot-protection.js';
import { resolveSnapshotProtection, type SnapshotProtection } from '../../snapshot/protection.js';
import { rotationRecords, snapshotBackups } from '../../rotation/ports.js';
import {
  checkMounts,
  clearRotationState,
  kvRotationStatus,
  KvV2,
  loadRotationPolicy,
  newRotationId,
  planKvRotation,
  rotateKv,
  rotateKvError,
  selectSecrets,
  type ClearedSecret,
  type ProcessRunner,
  type RotationDeps,
  type RotationPlanView,
  type RotationRunView,
  type RotationSettings,
  type RotationStatusView,
  type SnapshotAfterOutcome,
  loadProcessRunner,
  loadRotationMetrics,
} from '../../rotation/kv/index.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/**
 * The actions of `vault-ops rotate kv --policy FILE [--dry-run]`, `rotate kv status`, `rotate kv clear`
 * (registered by commands/rotate-kv.ts). Parse and validate options (before any I/O), call the
 * rotation library, render its result.
 */

/** Flags as commander parsed them, for this command and its subcommands (options live on `kv`). */
function flagsOf(cmd: Command): Record<string, unknown> {
  const all = cmd.optsWithGlobals();
  return Object.fromEntries(sources.map((s) => [s.key, all[s.key]]));
}

function options(ctx: CommandContext, cmd: Command): RotateKvOptions {
  return resolveCommandOptions(ctx, RotateKvOptionsSchema, sources, flagsOf(cmd));
}

/** Open the snapshot store a URL names, with S3 settings from the environment / config file. */
async function openStore(ctx: CommandContext, cmd: Command, url: string): Promise<SnapshotRepository> {
  const all = cmd.optsWithGlobals();
  const s3 = resolveCommandOptions(
    ctx,
    StoreOptionsSchema,
    storeOptionSources,
    Object.fromEntries(storeOptionSources.map((s) => [s.key, all[s.key]])),
  );
  return openCommandStore(ctx, url, s3, 'write');
}

/** The snapshot after the run is protected like snapshot save's (shared flags, env and config keys). */
async function snapshotProtection(
  ctx: CommandContext,
  cmd: Command,
  store: SnapshotRepository,
): Promise<SnapshotProtection> {
  const all = cmd.optsWithGlobals();
  const pick = (sources: readonly { key: string }[]) => Object.fromEntries(sources.map((s) => [s.key, all[s.key]]));
  const s3 = resolveCommandOptions(ctx, StoreOptionsSchema, storeOptionSources, pick(storeOptionSources));
  const protection = resolveCommandOptions(
    ctx,
    SnapshotProtectionOptionsSchema,
    snapshotProtectionOptionSources,
    pick(snapshotProtectionOptionSources),
  );
  return resolveSnapshotProtection({ ...s3, ...protection }, store);
}

/** Hooks and generators run through execa, loaded on the first one: a hook-less rotation starts no process. */
function hookRunner(env: NodeJS.ProcessEnv): ProcessRunner {
  let runner: Promise<ProcessRunner> | undefined;
  return {
    async run(command, options) {
      runner ??= loadProcessRunner(env);
      return (await runner).run(command, options);
    },
  };
}

async function setup(ctx: CommandContext, o: RotateKvOptions) {
  const policy = await loadRotationPolicy(o.policy);
  const secrets = selectSecrets(policy, o.only);
  const client = await ctx.authenticatedVault();
  const kv = new KvV2(client);
  const deps: RotationDeps = {
    kv,
    runner: hookRunner(ctx.env),
    secrets: ctx.secrets,
    logger: ctx.logger,
    now: () => new Date(),
    newRotationId: () => newRotationId(new Date()),
  };
  const settings: RotationSettings = {
    policyFile: o.policy,
    stagingMount: o.stagingMount,
    lockTtlMs: parseDuration(o.lockTtl),
    force: o.force,
    holder: `${hostname()}/pid-${process.pid}`,
  };
  return { policy, secrets, kv, deps, settings };
}

/** `rotate kv`: rotate the due secrets of a policy (or print the plan with --dry-run). */
export async function runRotateKv(ctx: CommandContext, cmd: Command): Promise<void> {
  const o = options(ctx, cmd);
  const { secrets, kv: kvApi, deps, settings } = await setup(ctx, o);
  if (o.dryRun) {
    const read = { policyFile: o.policy, secrets, now: deps.now(), concurrency: o.concurrency };
    const report = await planKvRotation(kvApi, { ...read, stagingMount: o.stagingMount, force: o.force });
    if (ctx.options.output === 'json') printJson(ctx.stdout, report);
    else printLines(ctx.stdout, renderPlan(report));
    return;
  }
  // Resolved before anything rotates, like every option; the reporter exists only when the metrics go somewhere.
  const metricsOptions = resolveCommandOptions(ctx, MetricsOptionsSchema, metricsOptionSources, cmd.opts());
  const metrics = await jobMetrics(metricsOptions, loadRotationMetrics);
  const recordStore = o.recordTo ? await openStore(ctx, cmd, o.recordTo) : undefined;
  const snapshotStore = o.snapshotAfter ? await openStore(ctx, cmd, o.snapshotAfter) : undefined;
  // Resolved before anything rotates: a bad key file must not surface after the rotations.
  const protection = snapshotStore ? await snapshotProtection(ctx, cmd, snapshotStore) : undefined;
  // SIGTERM/SIGINT: hooks are stopped (process groups killed), no new step starts, the run reports and exits 1.
  const interrupt = abortOnSignals();
  let failure: VaultOpsError | undefined;
  try {
    const result = await rotateKv(
      {
        ...settings,
        secrets,
        concurrency: o.concurrency,
        ...(o.maxRotations !== undefined ? { maxRotations: o.maxRotations } : {}),
      },
      {
        ...deps,
        ...(metrics ? { reporter: metrics } : {}),
        signal: interrupt.signal,
        ...(recordStore ? { records: rotationRecords(recordStore) } : {}),
        ...(snapshotStore && protection
          ? {
              snapshotAfter: snapshotBackups({
                vault: kvApi.client,
                repository: snapshotStore,
                logger: ctx.logger,
                protection,
              }),
            }
          : {}),
      },
    );
    const { snapshot } = result.report;
    if (ctx.options.output === 'json') printJson(ctx.stdout, result.report);
    else
      printLines(ctx.stdout, [
        ...renderRun(result.report),
        ...(snapshot ? [renderSnapshotAfter(snapshot, o.snapshotAfter)] : []),
      ]);
    failure = rotateKvError(result);
  } finally {
    interrupt.dispose();
    await recordStore?.close();
    await snapshotStore?.close();
    await publishJobMetrics(metrics, metricsOptions, ctx.logger);
  }
  if (failure) throw failure;
}

/** `rotate kv status`: each secret's rotation state. */
export async function runRotateKvStatus(ctx: CommandContext, cmd: Command): Promise<void> {
  const o = options(ctx, cmd);
  const { secrets, kv: kvApi, deps } = await setup(ctx, o);
  const view = await kvRotationStatus(kvApi, {
    policyFile: o.policy,
    secrets,
    now: deps.now(),
    concurrency: o.concurrency,
  });
  if (ctx.options.output === 'json') printJson(ctx.stdout, view);
  else printLines(ctx.stdout, renderStatus(view));
}

/** `rotate kv clear`: lift a quarantine and reset failures of the named secrets. */
export async function runRotateKvClear(ctx: CommandContext, cmd: Command): Promise<void> {
  const o = options(ctx, cmd);
  if (o.only.length === 0)
    throw new VaultOpsError(
      'usage',
      'rotate kv clear needs --only MOUNT/PATH (repeatable): name the secrets you reconciled',
    );
  const { secrets, kv: kvApi, deps, settings } = await setup(ctx, o);
  await checkMounts(kvApi, secrets, o.stagingMount);
  const cleared = await clearRotationState(secrets, deps, settings);
  if (ctx.options.output === 'json') printJson(ctx.stdout, { kind: 'rotation-clear', secrets: cleared });
  else printLines(ctx.stdout, renderClear(cleared));
  const locked = cleared.filter((c) => c.result === 'locked' || c.result === 'missing');
  if (locked.length > 0)
    throw new VaultOpsError('internal', `could not clear ${locked.map((c) => `${c.secret} (${c.result})`).join(', ')}`);
}

function renderPlan(r: RotationPlanView): string[] {
  const lines = [`Plan for ${r.policy} at ${r.time}:`];
  for (const s of r.secrets) {
    lines.push(
      `  ${s.secret}: ${s.action.toUpperCase()}${s.hooks ? ' (with hooks)' : ''}`,
      `    ${s.reason}`,
      `    schedule ${s.schedule}; next runs ${s.nextRuns.join(', ') || '-'}`,
    );
  }
  const sum = r.summary;
  lines.push(
    `${sum.rotate} to rotate, ${sum.resume} to resume, ${sum.revoke} to revoke, ${sum.none} not due, ${sum.skip} ` +
      `skipped, ${sum.missing} missing`,
  );
  return lines;
}

function renderRun(r: RotationRunView): string[] {
  const rows = r.secrets.map((s) => [
    s.secret,
    s.outcome + (s.resumed ? ' (resumed)' : '') + (s.revoked ? ' (+revoked)' : ''),
    s.toVersion !== undefined ? `v${s.fromVersion} → v${s.toVersion}` : '-',
    s.rotationId ?? '-',
    [s.failedStep ? `[${s.failedStep}]` : '', s.reason ?? '', ...(s.warnings ?? [])].filter(Boolean).join(' '),
  ]);
  const sum = r.summary;
  return [
    ...table([['SECRET', 'OUTCOME', 'VERSIONS', 'ROTATION', 'DETAIL'], ...rows]),
    `${sum.rotated} rotated, ${sum.revoked} revoked, ${sum['not-due']} not due, ${sum.skipped} skipped, ` +
      `${sum.failed} failed, ${sum.quarantined} quarantined`,
  ];
}

function renderSnapshotAfter(snapshot: SnapshotAfterOutcome, url: string | undefined): string {
  return 'id' in snapshot
    ? `snapshot ${snapshot.id} saved to ${url}`
    : `snapshot after the run FAILED: ${snapshot.error}`;
}

function renderStatus(v: RotationStatusView): string[] {
  return table([
    ['SECRET', 'STATE', 'LAST ROTATED', 'NEXT DUE', 'FAILURES', 'NOTE'],
    ...v.secrets.map((s) => [
      s.secret,
      s.exists ? s.state + (s.step ? `/${s.step}` : '') : 'missing',
      s.lastRotated ? `${s.lastRotated}${s.lastRotatedSource === 'created' ? ' (created)' : ''}` : '-',
      s.nextDue ?? '-',
      String(s.failures),
      s.quarantined
        ? `QUARANTINED: ${s.quarantined}`
        : s.revoke?.state === 'pending'
          ? `revoke pending after ${s.revoke.after}`
          : (s.lastError ?? ''),
    ]),
  ]);
}

function renderClear(cleared: ClearedSecret[]): string[] {
  return cleared.map((c) => {
    const mayHaveRun = c.droppedRotation?.setMayHaveRun
      ? ' (its set hook may have run: check the target holds the live value)'
      : '';
    const dropped = c.droppedRotation
      ? `; dropped pending rotation ${c.droppedRotation.rotationId} at ${c.droppedRotation.step ?? '?'}${mayHaveRun}`
      : '';
    return `${c.secret}: ${c.result}${dropped}`;
  });
}
