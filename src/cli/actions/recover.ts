import { VaultOpsError } from '../../errors.js';
import { resolveOptions } from '../../config/resolve.js';
import {
  RecoverItemsSchema,
  RecoverOptionsSchema,
  recoverItemSources,
  recoverOptionSources,
} from '../../options/recover.js';
import {
  executeRecovery,
  planRecovery,
  tokenIdentity,
  writeRecoveryRecord,
  type PlannedItem,
  type RecoveryPlan,
  type RecoveryResult,
} from '../../recover/index.js';
import { toolVersion } from '../../version.js';
import { openCommandStore } from '../command-store.js';
import { readScratchInputs } from '../scratch-inputs.js';
import { terminalConfirmer } from '../confirm.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { readSealStatus } from '../../vault/sys.js';
import { jobMetrics, publishJobMetrics } from '../job-metrics.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/**
 * `recover`: read the items from a snapshot (a recovery-mode scratch copy), plan against the live cluster,
 * confirm (typed, or --yes), write.
 */
export async function runRecover(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const items = resolveOptions(RecoverItemsSchema, recoverItemSources, { flags, env: {}, file: {} }, 'recover');
  const o = { ...resolveCommandOptions(ctx, RecoverOptionsSchema, recoverOptionSources, flags), ...items };
  const { unsealKeys, identities, seal } = await readScratchInputs(ctx, o);
  const metrics = await jobMetrics(
    o,
    async () => new (await import('../../recover/recover-metrics.js')).RecoverMetrics(),
  );
  const store = await openCommandStore(ctx, o.from, o);
  // Opened before anything is read: a record store that cannot be written is found before the recovery.
  const records = o.recordTo
    ? await openCommandStore(ctx, o.recordTo, o, 'write').catch(async (err: unknown) => {
        await store.close();
        throw err;
      })
    : undefined;
  const interrupt = abortOnSignals();
  let outcome: { result?: RecoveryResult; planned?: RecoveryPlan } | undefined;
  try {
    const vault = await ctx.authenticatedVault();
    if (metrics) metrics.clusterName = (await readSealStatus(vault).catch(() => undefined))?.cluster_name;
    const deps = {
      repository: store,
      vault,
      logger: ctx.logger,
      secrets: ctx.secrets,
      toolVersion,
      signal: interrupt.signal,
    };
    const prepared = await planRecovery(deps, {
      snapshot: o.snapshot,
      paths: o.path,
      policies: o.policy,
      ...(o.version !== undefined ? { version: o.version } : {}),
      ...(o.as !== undefined ? { as: o.as } : {}),
      ...(o.vaultBinary ? { binary: o.vaultBinary } : {}),
      ...(ctx.env.PATH !== undefined ? { searchPath: ctx.env.PATH } : {}),
      unsealKeys,
      ...(identities ? { identities } : {}),
      ...(o.scratchPort ? { scratchPort: o.scratchPort } : {}),
      ...(seal ?? {}),
      restoreTimeoutMs: o.restoreTimeoutSeconds * 1000,
    });
    const { plan } = prepared;
    const toWrite = plan.items.filter((i) => i.action === 'write');
    if (o.dryRun || toWrite.length === 0) {
      outcome = { planned: plan };
      if (ctx.options.output === 'json') printJson(ctx.stdout, { plan, applied: false });
      else printLines(ctx.stdout, [...renderPlan(plan), o.dryRun ? 'Dry run: nothing written.' : 'Nothing to write.']);
      return;
    }
    // The plan goes to stderr in text mode, so that stdout carries only the result.
    ctx.terminal.stderr.write(`${renderPlan(plan).join('\n')}\n`);
    if (!o.yes) await confirm(ctx, plan, toWrite);
    const result = await executeRecovery(deps, prepared);
    outcome = { result };
    const record = records
      ? await writeRecoveryRecord(records, result, await tokenIdentity(vault), new Date())
      : undefined;
    if (ctx.options.output === 'json') printJson(ctx.stdout, { ...result, applied: true, record: record ?? null });
    else printLines(ctx.stdout, [...renderResult(result), ...(record ? [`  recorded: ${record}`] : [])]);
  } finally {
    interrupt.dispose();
    await records?.close();
    await store.close();
    metrics?.finished(new Date(), outcome);
    await publishJobMetrics(metrics, o, ctx.logger);
  }
}

async function confirm(ctx: CommandContext, plan: RecoveryPlan, toWrite: PlannedItem[]): Promise<void> {
  const phrase = toWrite.length === 1 ? toWrite[0]!.target : `recover ${toWrite.length} items`;
  const confirmed = await terminalConfirmer(ctx)({
    runbook: 'recover',
    step: 'write',
    prompt: `This writes ${toWrite.length} item(s) of snapshot ${plan.snapshot.id} into ${plan.target.address}`,
    phrase,
    automatable: true,
  }).catch((err: unknown) => {
    if (err instanceof VaultOpsError && (err.code === 'confirmation' || err.code === 'aborted'))
      throw new VaultOpsError(
        'confirmation',
        err.code === 'aborted'
          ? 'recover interrupted at the confirmation (Ctrl-C): nothing was written'
          : 'recover needs a typed confirmation and this run is not interactive: re-run with --yes once you have ' +
              'checked the plan above (or --dry-run to see it only)',
      );
    throw err;
  });
  if (!confirmed) throw new VaultOpsError('confirmation', 'recover not confirmed: nothing was written');
}

function side(s: PlannedItem['live']): string {
  if (!s.present) return 'absent';
  const state = s.destroyed ? ', DESTROYED' : s.deleted ? ', DELETED' : '';
  return s.version !== undefined ? `version ${s.version}${s.time ? ` of ${s.time}` : ''}${state}` : 'present';
}

function renderPlan(p: RecoveryPlan): string[] {
  const lines = [
    'Recovery plan:',
    ...table([
      [
        '  snapshot',
        `${p.snapshot.id}, taken ${p.snapshot.createdAt} on ${p.snapshot.clusterName ?? '-'} ` +
          `(${p.snapshot.clusterId ?? '-'})`,
      ],
      ['  signature', p.snapshot.signature],
      ['  into', p.target.address],
    ]),
  ];
  for (const item of p.items) {
    const k = item.keys;
    lines.push(
      `  ${item.item}${item.target !== item.item ? ` -> ${item.target}` : ''} (${item.kind}): ` +
        `${item.action === 'write' ? 'WRITE' : 'unchanged, nothing to write'}`,
      ...table([
        ['    snapshot', side(item.snapshot)],
        ['    live', `${side(item.live)}${item.cas !== undefined ? ` (check-and-set on version ${item.cas})` : ''}`],
        [
          '    keys',
          `added: ${k.added.join(', ') || '-'}; removed: ${k.removed.join(', ') || '-'}; changed: ` +
            `${k.changed.join(', ') || '-'}; unchanged: ${k.unchanged}`,
        ],
        ...(item.customMetadataRestored
          ? [['    custom metadata', `restored: ${item.customMetadataRestored.join(', ')}`]]
          : []),
      ]),
    );
  }
  return lines;
}

function renderResult(r: RecoveryResult): string[] {
  const t = r.timings;
  return [
    `Recovered from snapshot ${r.plan.snapshot.id}:`,
    ...table(
      r.items.map((i) => [
        `  ${i.target}`,
        i.written ? `written${i.version !== undefined ? `, now version ${i.version}` : ''}` : 'unchanged',
      ]),
    ),
    `  timings: download ${t.download}s, restore ${t.restore}s, read ${t.read}s, plan ${t.plan}s, write ${t.write}s`,
  ];
}
