import { RestoreOptionsSchema, restoreOptionSources } from '../../options/restore.js';
import { VaultOpsError } from '../../errors.js';
import {
  executeRestore,
  planRestore,
  sealedTargetError,
  type RecordStore,
  type RestorePlan,
  type RestoreResult,
} from '../../restore/restore.js';
import type { RotationReview } from '../../restore/rotations.js';
import { flavourName, type ServerFlavour } from '../../vault/flavour.js';
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
  const recordStores: RecordStore[] = [];
  try {
    for (const url of o.recordsFrom) recordStores.push({ label: url, repository: await openCommandStore(ctx, url, o) });
  } catch (err) {
    for (const r of recordStores) await r.repository.close().catch(() => undefined);
    await store.close();
    throw err;
  }
  // Before the plan and the confirmation: a bad key file must not surface after "yes".
  const protection = o.safetySnapshot
    ? await resolveSnapshotProtection(o, store).catch(async (err: unknown) => {
        for (const r of recordStores) await r.repository.close().catch(() => undefined);
        await store.close();
        throw err;
      })
    : undefined;
  const interrupt = abortOnSignals();
  try {
    const vault = await ctx.authenticatedVault().catch(async (err: unknown) => {
      // The token is checked first: a sealed target answers that, and the operator needs the way out.
      if (err instanceof VaultOpsError && err.code === 'vault-sealed')
        throw await sealedTargetError(await ctx.vault(), err);
      throw err;
    });
    const prepared = await planRestore(
      { vault, repository: store, repositoryLabel: o.from, recordStores, logger: ctx.logger },
      { snapshot: o.snapshot, force, safetySnapshot: o.safetySnapshot },
    );
    // The plan goes to stderr in text mode, so that stdout carries only the result.
    ctx.terminal.stderr.write(`${renderPlan(prepared.plan).join('\n')}\n`);
    try {
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
              `snapshot ${prepared.plan.snapshot.id} is flagged (${anomaly}): restoring it needs its id typed in ` +
                `an interactive run, --yes is not enough; check the store first ('vault-ops snapshot list')`,
            );
          }
          if (err instanceof VaultOpsError && err.code === 'aborted')
            throw new VaultOpsError(
              'confirmation',
              'restore interrupted at the confirmation (Ctrl-C): nothing was changed',
            );
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
          if (err instanceof VaultOpsError && err.code === 'aborted')
            throw new VaultOpsError(
              'confirmation',
              'restore interrupted at the confirmation (Ctrl-C): nothing was changed',
            );
          throw err;
        });
        if (!confirmed) throw new VaultOpsError('confirmation', 'restore not confirmed: nothing was changed');
      }
    } catch (err) {
      // --output json: stdout carries the plan and the error object, as rotate-root's report does.
      if (ctx.options.output === 'json' && err instanceof VaultOpsError)
        printJson(ctx.stdout, {
          plan: prepared.plan,
          applied: false,
          error: { code: err.code, message: err.message, exitCode: err.exitCode },
        });
      throw err;
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
    for (const r of recordStores) await r.repository.close().catch(() => undefined);
    await store.close();
  }
}

const age = (s: number) =>
  s < 3600 ? `${Math.round(s / 60)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} days`;

function renderPlan(p: RestorePlan): string[] {
  const server = (flavour: ServerFlavour | undefined, version: string | undefined) =>
    `${flavour ? flavourName(flavour) : 'server'} ${version ?? '-'}`;
  return [
    'Restore plan:',
    ...table([
      [
        '  target',
        `${p.target.clusterName ?? '-'} (${p.target.clusterId ?? '-'}), ` +
          `${server(p.target.flavour, p.target.version)}, leader ${p.target.leader}`,
      ],
      [
        '  snapshot',
        `${p.snapshot.id}, raft index ${p.snapshot.raftIndex}, taken ${p.snapshot.createdAt} ` +
          `(${age(p.snapshot.ageSeconds)} ago)${p.snapshot.purpose === 'safety' ? ', a SAFETY snapshot' : ''}`,
      ],
      [
        '  from cluster',
        `${p.snapshot.clusterName ?? '-'} (${p.snapshot.clusterId ?? '-'}), ` +
          `${server(p.snapshot.flavour, p.snapshot.version)}` +
          `${p.sameCluster ? ' — the same cluster' : ' — ANOTHER cluster'}`,
      ],
      ['  signature', p.snapshot.signature],
      ['  restore drill', p.snapshot.drill],
      ...(p.snapshot.anomaly ? [['  FLAGGED', p.snapshot.anomaly]] : []),
      [
        '  mode',
        p.force ? 'forced (snapshot-force: the seal-key check is skipped)' : 'plain (fails if the keys differ)',
      ],
      [
        '  safety snapshot',
        p.safetySnapshot
          ? "first, the target's current state is snapshotted into the store (marked SAFETY)"
          : 'none (--no-safety-snapshot): the current state is not kept',
      ],
    ]),
    ...p.notes.map((n) => `  note: ${n}`),
    ...renderRotations(p.rotations, 'will roll them back'),
  ];
}

/** The rotations after the snapshot, one per connection or secret, and the stores their records came from. */
function renderRotations(review: RotationReview, verb: string): string[] {
  const lines = [`  rotation records read from: ${review.recordsRead.join(', ')}`];
  if (review.rolledBack.length) {
    lines.push(`  rotations after the snapshot (this restore ${verb}):`);
    for (const r of review.rolledBack) {
      const label = r.certainty === 'may-not-have-happened' ? 'MAY NOT HAVE HAPPENED' : 'rolled back';
      lines.push(`    ${r.where} (${r.kind}, ${label}, last recorded ${r.time}): ${r.action}`);
    }
  } else
    lines.push(
      '  no rotation recorded after the snapshot in these stores (rotations recorded elsewhere: --records-from URL)',
    );
  lines.push(...review.notes.map((n) => `  note: ${n}`));
  return lines;
}

function renderResult(r: RestoreResult): string[] {
  const lines = [
    `Restored snapshot ${r.plan.snapshot.id} into ${r.plan.target.leader}: ` +
      `${r.applied ? 'applied' : 'NOT CONFIRMED'}; the cluster is ${r.sealed ? 'SEALED' : 'unsealed'}`,
  ];
  if (r.safetySnapshotId) lines.push(`  safety snapshot of the state before: ${r.safetySnapshotId}`);
  lines.push(...renderRotations(r.plan.rotations, 'rolled them back'));
  lines.push('', 'Next:', ...r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`));
  return lines;
}
