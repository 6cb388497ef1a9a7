import { RestoreOptionsSchema, restoreOptionSources } from '../../options/restore.js';
import { VaultOpsError } from '../../errors.js';
import { executeRestore, planRestore, type RestorePlan, type RestoreResult } from '../../restore/restore.js';
import { readIdentities } from '../../snapshot/age-encryption.js';
import { resolveSnapshotProtection } from '../../snapshot/protection.js';
import { terminalConfirmer } from '../confirm.js';
import { openCommandStore } from '../command-store.js';
import { resolveCommandOptions, type CommandContext } from '../context.js';
import { printJson, printLines, table } from '../output.js';
import { abortOnSignals } from '../signals.js';

/** `restore`: plan, confirm (typed cluster name or --yes), optional safety snapshot, restore, report. */
export async function runRestore(ctx: CommandContext, flags: Record<string, unknown>): Promise<void> {
  const o = resolveCommandOptions(ctx, RestoreOptionsSchema, restoreOptionSources, flags);
  const force = flags.force === true;
  const yes = flags.yes === true;
  const identities = o.identityFile ? await readIdentities(o.identityFile) : undefined;
  identities?.forEach((i) => ctx.secrets.add(i));
  const store = await openCommandStore(ctx, o.from, o);
  // Before the plan and the confirmation: a bad key file must not surface after "yes".
  const protection = o.safetySnapshot
    ? await resolveSnapshotProtection(o, store).catch(async (err: unknown) => {
        await store.close();
        throw err;
      })
    : undefined;
  const interrupt = abortOnSignals();
  try {
    const vault = await ctx.authenticatedVault();
    const prepared = await planRestore(
      { vault, repository: store, logger: ctx.logger },
      { snapshot: o.snapshot, force },
    );
    // The plan goes to stderr in text mode, so that stdout carries only the result.
    ctx.terminal.stderr.write(`${renderPlan(prepared.plan).join('\n')}\n`);
    const anomaly = prepared.plan.snapshot.anomaly;
    if (anomaly) {
      // A flagged snapshot (a possible replay, a time at odds with its id) is restored only by a person
      // who typed its id after reading why it was flagged: --yes does not cover it.
      const confirmed = await terminalConfirmer(ctx)({
        runbook: 'restore',
        step: 'anomaly',
        prompt: `Snapshot ${prepared.plan.snapshot.id} is flagged: ${anomaly}`,
        phrase: prepared.plan.snapshot.id,
        automatable: false,
      }).catch((err: unknown) => {
        if (err instanceof VaultOpsError && err.code === 'confirmation') {
          throw new VaultOpsError(
            'confirmation',
            `snapshot ${prepared.plan.snapshot.id} is flagged (${anomaly}): restoring it needs its id typed in an ` +
              `interactive run, --yes is not enough; check the store first ('vault-ops snapshot list')`,
          );
        }
        throw err;
      });
      if (!confirmed)
        throw new VaultOpsError('confirmation', 'restore of a flagged snapshot not confirmed: nothing was changed');
    }
    if (!yes) {
      const name = prepared.plan.target.clusterName ?? prepared.plan.target.clusterId ?? 'restore';
      const confirmed = await terminalConfirmer(ctx)({
        runbook: 'restore',
        step: 'restore',
        prompt:
          `This replaces ALL data of cluster ${name} at ${prepared.plan.target.leader} with snapshot ` +
          `${prepared.plan.snapshot.id}`,
        phrase: name,
        automatable: true,
      }).catch((err: unknown) => {
        if (err instanceof VaultOpsError && err.code === 'confirmation') {
          throw new VaultOpsError(
            'confirmation',
            `restore needs a typed confirmation of the target's cluster name and this run is not interactive: ` +
              `re-run with --yes once you have checked the plan above`,
          );
        }
        throw err;
      });
      if (!confirmed) throw new VaultOpsError('confirmation', 'restore not confirmed: nothing was changed');
    }
    const result = await executeRestore(
      { vault, repository: store, logger: ctx.logger, signal: interrupt.signal },
      prepared,
      {
        safetySnapshot: o.safetySnapshot,
        ...(protection ? { protection } : {}),
        ...(identities ? { identities } : {}),
        timeoutMs: o.restoreTimeoutSeconds * 1000,
      },
    );
    if (ctx.options.output === 'json') printJson(ctx.stdout, result);
    else printLines(ctx.stdout, renderResult(result));
    if (!result.applied) {
      throw new VaultOpsError(
        'vault-request',
        `the restore was sent but could not be confirmed applied within ${o.restoreTimeoutSeconds} s: check ` +
          `the cluster with 'vault-ops status' and the leader's logs`,
      );
    }
  } finally {
    interrupt.dispose();
    await store.close();
  }
}

const age = (s: number) =>
  s < 3600 ? `${Math.round(s / 60)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} days`;

function renderPlan(p: RestorePlan): string[] {
  return [
    'Restore plan:',
    ...table([
      [
        '  target',
        `${p.target.clusterName ?? '-'} (${p.target.clusterId ?? '-'}), Vault ${p.target.version ?? '-'}, leader ` +
          `${p.target.leader}`,
      ],
      [
        '  snapshot',
        `${p.snapshot.id}, raft index ${p.snapshot.raftIndex}, taken ${p.snapshot.createdAt} ` +
          `(${age(p.snapshot.ageSeconds)} ago)`,
      ],
      [
        '  from cluster',
        `${p.snapshot.clusterName ?? '-'} (${p.snapshot.clusterId ?? '-'}), Vault ` +
          `${p.snapshot.version ?? '-'}${p.sameCluster ? ' — the same cluster' : ' — ANOTHER cluster'}`,
      ],
      ['  signature', p.snapshot.signature],
      ['  restore drill', p.snapshot.drill],
      ...(p.snapshot.anomaly ? [['  FLAGGED', p.snapshot.anomaly]] : []),
      [
        '  mode',
        p.force ? 'forced (snapshot-force: the seal-key check is skipped)' : 'plain (fails if the keys differ)',
      ],
    ]),
    ...p.notes.map((n) => `  note: ${n}`),
  ];
}

function renderResult(r: RestoreResult): string[] {
  const lines = [
    `Restored snapshot ${r.plan.snapshot.id} into ${r.plan.target.leader}: ` +
      `${r.applied ? 'applied' : 'NOT CONFIRMED'}; the cluster is ${r.sealed ? 'SEALED' : 'unsealed'}`,
  ];
  if (r.safetySnapshotId) lines.push(`  safety snapshot of the state before: ${r.safetySnapshotId}`);
  if (r.rolledBackRotations.length) {
    lines.push('', 'Rotations after the snapshot (rolled back by this restore):');
    lines.push(
      ...table(r.rolledBackRotations.map((x) => [`  ${x.time}`, x.kind, `${x.mount ?? ''}/${x.path ?? ''}`, x.action])),
    );
  } else lines.push('  no rotation records newer than the snapshot');
  lines.push('', 'Next:', ...r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`));
  return lines;
}
