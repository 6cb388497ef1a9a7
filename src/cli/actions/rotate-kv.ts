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
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
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
import type { CommandContext } from '../context.js';
import { resolveSettings } from '../settings.js';
import { readSealStatus } from '../../vault/sys.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/**
 * The actions of `vault-ops rotate kv --policy FILE [--dry-run]`, `rotate kv status`, `rotate kv clear`
 * (registered by commands/rotate-kv.ts). Parse and validate options (before any I/O), call the
 * rotation library, render its result.
 */

/**
 * Every setting of `rotate kv` (and `status`, `clear`), resolved and validated at once before any
 * store is opened or Vault contacted. Options live on `kv`, so subcommands read them with the globals.
 */
function commandSettings(ctx: CommandContext, cmd: Command) {
  return resolveSettings(ctx, cmd.optsWithGlobals(), {
    rotation: [RotateKvOptionsSchema, sources],
    store: [StoreOptionsSchema, storeOptionSources],
    protection: [SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources],
    metrics: [MetricsOptionsSchema, metricsOptionSources],
  });
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
  const all = commandSettings(ctx, cmd);
  const o = all.rotation;
  if (o.dryRun) {
    const { secrets, kv: kvApi, deps } = await setup(ctx, o);
    const read = { policyFile: o.policy, secrets, now: deps.now(), concurrency: o.concurrency };
    const report = await planKvRotation(kvApi, { ...read, stagingMount: o.stagingMount, force: o.force });
    if (ctx.options.output === 'json') printJson(ctx.stdout, report);
    else printLines(ctx.stdout, renderPlan(report));
    return;
  }
  // The reporter exists only when the metrics go somewhere.
  const metrics = await jobMetrics(all.metrics, loadRotationMetrics);
  const stores: SnapshotRepository[] = [];
  let failure: VaultOpsError | undefined;
  try {
    // The stores and the signing key before the Vault login: a bad store option or key file is found before
    // anything is contacted, and never after the rotations.
    const recordStore = o.recordTo ? await openCommandStore(ctx, o.recordTo, all.store, 'write') : undefined;
    if (recordStore) stores.push(recordStore);
    const snapshotStore = o.snapshotAfter
      ? await openCommandStore(ctx, o.snapshotAfter, all.store, 'write')
      : undefined;
    if (snapshotStore) stores.push(snapshotStore);
    const protection = snapshotStore
      ? await resolveSnapshotProtection({ ...all.store, ...all.protection }, snapshotStore)
      : undefined;
    const { secrets, kv: kvApi, deps, settings } = await setup(ctx, o);
    if (metrics && !all.metrics.vaultClusterName) {
      // The metrics' default vault_cluster: the name Vault reports (unknown when it cannot say).
      metrics.clusterName = (await readSealStatus(kvApi.client).catch(() => undefined))?.cluster_name;
    }
    // SIGTERM/SIGINT: hooks are stopped (process groups killed), no new step starts, the run reports and exits 1.
    const interrupt = abortOnSignals();
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
    }
  } finally {
    for (const store of stores) await store.close().catch(() => undefined);
    await publishJobMetrics(metrics, all.metrics, ctx.logger);
  }
  if (failure) throw failure;
}

/** `rotate kv status`: each secret's rotation state. */
export async function runRotateKvStatus(ctx: CommandContext, cmd: Command): Promise<void> {
  const o = commandSettings(ctx, cmd).rotation;
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
  const o = commandSettings(ctx, cmd).rotation;
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
