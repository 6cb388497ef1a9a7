import { hostname } from 'node:os';
import type { Command } from 'commander';
import { z } from 'zod';
import { VaultOpsError } from '../../errors.js';
import type { OptionSource } from '../../config/resolve.js';
import { parseDuration } from '../../time/duration.js';
import { newRotationId } from '../../rotation/kv/ids.js';
import { KvV2 } from '../../rotation/kv/kv.js';
import { RotationMetrics } from '../../rotation/kv/metrics.js';
import { MetricsOptionsSchema, metricsOptionSources, publishMetrics } from '../../observability/metrics.js';
import { loadRotationPolicy, selectSecrets } from '../../rotation/kv/policy.js';
import { execaRunner } from '../../rotation/kv/process-runner.js';
import { kvRotationStatus, planKvRotation, rotateKv, rotateKvError, type SnapshotAfterOutcome } from '../../rotation/kv/rotate-kv.js';
import type { RotationDeps, RotationSettings } from '../../rotation/kv/types.js';
import { SnapshotProtectionOptionsSchema, resolveSnapshotProtection, snapshotProtectionOptionSources, type SnapshotProtection } from '../../snapshot/protection.js';
import { S3OptionsSchema, s3OptionSources } from '../../store/open-store.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import {
  DEFAULT_STAGING_MOUNT,
  checkMounts,
  clearRotationState,
  type ClearedSecret,
  type RotationPlanView,
  type RotationRunView,
  type RotationStatusView,
} from '../../rotation/kv/run.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import type { CommandModule } from '../command-module.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';
import { addSnapshotProtectionOptions, collect } from './shared-options.js';

/**
 * `vault-ops rotate kv --policy FILE [--dry-run]`, `rotate kv status`, `rotate kv clear`.
 * Parses and validates options (before any I/O), calls the rotation library, renders its result.
 */

const mountName = z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { message: 'a mount path such as vault-ops-staging' });

export const RotateKvOptionsSchema = z.object({
  policy: z.string({ message: 'required: the rotation policy file (--policy FILE)' }).min(1),
  dryRun: z.boolean().default(false),
  force: z.boolean().default(false),
  only: z.array(z.string().regex(/^[^/]+\/.+/, { message: 'use MOUNT/PATH, e.g. secret/payments/stripe' })).default([]),
  maxRotations: z.number().int().min(1).optional(),
  concurrency: z.number().int().min(1).max(64).default(4),
  stagingMount: mountName.default(DEFAULT_STAGING_MOUNT),
  lockTtl: z
    .string()
    .default('2m')
    .superRefine((v, ctx) => {
      try {
        if (parseDuration(v) < 1000) ctx.addIssue({ code: 'custom', message: 'at least 1s' });
      } catch {
        ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": use e.g. 2m or 30s` });
      }
    }),
  recordTo: z.string().min(1).optional(),
  snapshotAfter: z.string().min(1).optional(),
});
export type RotateKvOptions = z.output<typeof RotateKvOptionsSchema>;

const sources: readonly OptionSource[] = [
  { key: 'policy', env: ['VAULT_OPS_ROTATE_POLICY'] },
  { key: 'dryRun' },
  { key: 'force' },
  { key: 'only', fromEnv: 'list' },
  { key: 'maxRotations', env: ['VAULT_OPS_ROTATE_MAX_ROTATIONS'], fromEnv: 'number' },
  { key: 'concurrency', env: ['VAULT_OPS_ROTATE_CONCURRENCY'], fromEnv: 'number' },
  { key: 'stagingMount', env: ['VAULT_OPS_STAGING_MOUNT'] },
  { key: 'lockTtl', env: ['VAULT_OPS_ROTATE_LOCK_TTL'] },
  { key: 'recordTo', env: ['VAULT_OPS_RECORD_TO'] },
  { key: 'snapshotAfter', env: ['VAULT_OPS_SNAPSHOT_AFTER'] },
];

const toNumber = (v: string) => (/^\d+$/.test(v) ? Number(v) : Number.NaN);

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
  const s3 = resolveCommandOptions(ctx, S3OptionsSchema, s3OptionSources, Object.fromEntries(s3OptionSources.map((s) => [s.key, all[s.key]])));
  return openCommandStore(ctx, url, s3);
}

/** The snapshot after the run is protected like snapshot save's (shared flags, env and config keys). */
async function snapshotProtection(ctx: CommandContext, cmd: Command, store: SnapshotRepository): Promise<SnapshotProtection> {
  const all = cmd.optsWithGlobals();
  const pick = (sources: readonly { key: string }[]) => Object.fromEntries(sources.map((s) => [s.key, all[s.key]]));
  const s3 = resolveCommandOptions(ctx, S3OptionsSchema, s3OptionSources, pick(s3OptionSources));
  const protection = resolveCommandOptions(ctx, SnapshotProtectionOptionsSchema, snapshotProtectionOptionSources, pick(snapshotProtectionOptionSources));
  return resolveSnapshotProtection({ ...s3, ...protection }, store);
}

async function setup(ctx: CommandContext, o: RotateKvOptions) {
  const policy = await loadRotationPolicy(o.policy);
  const secrets = selectSecrets(policy, o.only);
  const client = await ctx.authenticatedVault();
  const kv = new KvV2(client);
  const deps: RotationDeps = {
    kv,
    runner: execaRunner(ctx.env),
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

export const rotateKvCommand: CommandModule = {
  optionSources: [...sources, ...metricsOptionSources, ...snapshotProtectionOptionSources],
  register(program, run) {
    const rotate = program.commands.find((c) => c.name() === 'rotate') ?? program.command('rotate').description('rotate secrets (KV v2 static secrets)');
    const kv = addSnapshotProtectionOptions(
      rotate
      .command('kv')
      .description('rotate KV v2 secrets per a policy file: create → set → test → finish, resumable, locked per secret')
      .option('--policy <file>', 'rotation policy YAML (VAULT_OPS_ROTATE_POLICY)')
      .option('--dry-run', 'print the plan: which secrets are due, why, and the next 3 runs of each schedule')
      .option('--force', 'rotate the selected secrets now, due or not (also retries quarantined ones)')
      .option('--only <mount/path>', 'select one secret of the policy (repeatable)', collect)
      .option('--max-rotations <n>', 'start at most N rotations in this run (circuit breaker)', toNumber)
      .option('--concurrency <n>', 'secrets rotated at once (default 4)', toNumber)
      .option('--staging-mount <mount>', `KV v2 mount for pending values and locks (default ${DEFAULT_STAGING_MOUNT})`)
      .option('--lock-ttl <duration>', 'lock expiry, extended while the run lives; a crashed run\'s lock is taken over after it (default 2m)')
      .option('--record-to <url>', 'snapshot store URL: append a record of each completed rotation')
      .option('--snapshot-after <url>', 'snapshot store URL: take a snapshot after a run that rotated anything'),
    )
      .option('--metrics-textfile <file>', 'write metrics for the node-exporter textfile collector')
      .option('--pushgateway <url>', 'push metrics to a Prometheus Pushgateway')
      .action(async (_opts, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = options(ctx, cmd);
          const { secrets, kv: kvApi, deps, settings } = await setup(ctx, o);
          if (o.dryRun) {
            const read = { policyFile: o.policy, secrets, now: deps.now(), concurrency: o.concurrency };
            const report = await planKvRotation(kvApi, { ...read, stagingMount: o.stagingMount, force: o.force });
            if (ctx.options.output === 'json') printJson(ctx.stdout, report);
            else printLines(ctx.stdout, renderPlan(report));
            return;
          }
          const metrics = new RotationMetrics();
          const recordStore = o.recordTo ? await openStore(ctx, cmd, o.recordTo) : undefined;
          const snapshotStore = o.snapshotAfter ? await openStore(ctx, cmd, o.snapshotAfter) : undefined;
          // Resolved before anything rotates: a bad key file must not surface after the rotations.
          const protection = snapshotStore ? await snapshotProtection(ctx, cmd, snapshotStore) : undefined;
          // SIGTERM/SIGINT: hooks are stopped (process groups killed), no new step starts, the run reports and exits 1.
          const interrupt = abortOnSignals();
          let failure: VaultOpsError | undefined;
          try {
            const result = await rotateKv(
              { ...settings, secrets, concurrency: o.concurrency, ...(o.maxRotations !== undefined ? { maxRotations: o.maxRotations } : {}) },
              {
                ...deps,
                reporter: metrics,
                signal: interrupt.signal,
                ...(recordStore ? { recordStore } : {}),
                ...(snapshotStore && protection ? { snapshotAfter: { store: snapshotStore, protection } } : {}),
              },
            );
            const { snapshot } = result.report;
            if (ctx.options.output === 'json') printJson(ctx.stdout, result.report);
            else printLines(ctx.stdout, [...renderRun(result.report), ...(snapshot ? [renderSnapshotAfter(snapshot, o.snapshotAfter)] : [])]);
            failure = rotateKvError(result);
          } finally {
            interrupt.dispose();
            await recordStore?.close();
            await snapshotStore?.close();
            const metricsOptions = resolveCommandOptions(ctx, MetricsOptionsSchema, metricsOptionSources, cmd.opts());
            await publishMetrics(metrics, metricsOptions, ctx.logger);
          }
          if (failure) throw failure;
        }),
      );

    kv.command('status')
      .description('each secret\'s rotation state, last rotation, next due date, failures')
      .action(async (_opts, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = options(ctx, cmd);
          const { secrets, kv: kvApi, deps } = await setup(ctx, o);
          const view = await kvRotationStatus(kvApi, { policyFile: o.policy, secrets, now: deps.now(), concurrency: o.concurrency });
          if (ctx.options.output === 'json') printJson(ctx.stdout, view);
          else printLines(ctx.stdout, renderStatus(view));
        }),
      );

    kv.command('clear')
      .description('lift a quarantine and reset failures (drops a pending rotation): run it after reconciling by hand')
      .action(async (_opts, cmd: Command) =>
        run(cmd, async (ctx) => {
          const o = options(ctx, cmd);
          if (o.only.length === 0) throw new VaultOpsError('usage', 'rotate kv clear needs --only MOUNT/PATH (repeatable): name the secrets you reconciled');
          const { secrets, kv: kvApi, deps, settings } = await setup(ctx, o);
          await checkMounts(kvApi, secrets, o.stagingMount);
          const cleared = await clearRotationState(secrets, deps, settings);
          if (ctx.options.output === 'json') printJson(ctx.stdout, { kind: 'rotation-clear', secrets: cleared });
          else printLines(ctx.stdout, renderClear(cleared));
          const locked = cleared.filter((c) => c.result === 'locked' || c.result === 'missing');
          if (locked.length > 0) throw new VaultOpsError('internal', `could not clear ${locked.map((c) => `${c.secret} (${c.result})`).join(', ')}`);
        }),
      );
  },
};

function renderPlan(r: RotationPlanView): string[] {
  const lines = [`Plan for ${r.policy} at ${r.time}:`];
  for (const s of r.secrets) {
    lines.push(`  ${s.secret}: ${s.action.toUpperCase()}${s.hooks ? ' (with hooks)' : ''}`, `    ${s.reason}`, `    schedule ${s.schedule}; next runs ${s.nextRuns.join(', ') || '-'}`);
  }
  const sum = r.summary;
  lines.push(`${sum.rotate} to rotate, ${sum.resume} to resume, ${sum.revoke} to revoke, ${sum.none} not due, ${sum.skip} skipped, ${sum.missing} missing`);
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
    `${sum.rotated} rotated, ${sum.revoked} revoked, ${sum['not-due']} not due, ${sum.skipped} skipped, ${sum.failed} failed, ${sum.quarantined} quarantined`,
  ];
}

function renderSnapshotAfter(snapshot: SnapshotAfterOutcome, url: string | undefined): string {
  return 'id' in snapshot ? `snapshot ${snapshot.id} saved to ${url}` : `snapshot after the run FAILED: ${snapshot.error}`;
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
      s.quarantined ? `QUARANTINED: ${s.quarantined}` : s.revoke?.state === 'pending' ? `revoke pending after ${s.revoke.after}` : (s.lastError ?? ''),
    ]),
  ]);
}

function renderClear(cleared: ClearedSecret[]): string[] {
  return cleared.map((c) => {
    const dropped = c.droppedRotation
      ? `; dropped pending rotation ${c.droppedRotation.rotationId} at ${c.droppedRotation.step ?? '?'}${c.droppedRotation.setMayHaveRun ? ' (its set hook may have run: check the target holds the live value)' : ''}`
      : '';
    return `${c.secret}: ${c.result}${dropped}`;
  });
}
