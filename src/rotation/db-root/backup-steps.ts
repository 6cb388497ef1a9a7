import { VaultOpsError } from '../../errors.js';
import type { RunbookStep, StepFacts } from '../../runbook/types.js';
import type { RotateRootDeps } from './deps.js';

/**
 * The two steps around the rotation that touch the snapshot store (its BackupPort and RecordPort):
 * a recent good snapshot before, a snapshot holding the new root and the rotation record after.
 */

type Step = RunbookStep<RotateRootDeps>;

// ── 2. backup-before ────────────────────────────────────────────────────────────────────────

export const backupBefore: Step = {
  id: 'backup-before',
  title: 'Recent good snapshot',
  description:
    'Makes sure --snapshot-store holds a good snapshot newer than --snapshot-max-age (default 24h) that can give ' +
    'back the state before the rotation: its manifest holds the mount and, if it was drilled, its last drill ' +
    'passed. Takes one now if not.',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const { backups, options } = ctx.deps;
    if (!backups) {
      return {
        lines: [],
        skip: 'no --snapshot-store: no backup checked',
        warnings: [
          'no --snapshot-store given: make sure a recent snapshot exists (vault-ops snapshot save --to URL) before ' +
            'rotating',
        ],
      };
    }
    const { snapshot: latest, passedOver } = await backups.latestGood(options.mount);
    const age = latest ? ctx.deps.now().getTime() - latest.time.getTime() : Infinity;
    const fresh = latest !== undefined && age <= options.snapshotMaxAge;
    return {
      lines: [
        ...passedOver.slice(0, 3).map((why) => `not counted: ${why}`),
        ...(passedOver.length > 3 ? [`not counted: ${passedOver.length - 3} older snapshot(s) more`] : []),
        latest
          ? `newest good snapshot in ${backups.url}: ${latest.id} (${Math.round(age / 60_000)} min old, holds ` +
            `${options.mount}/, ${latest.drill === 'passed' ? 'last drill passed' : 'not drilled yet'})`
          : `no good snapshot holding ${options.mount}/ in ${backups.url}`,
        fresh ? 'recent enough: nothing to take' : 'would take a snapshot now',
      ],
      facts: { latestSnapshot: latest?.id ?? null, fresh },
    };
  },
  async action(ctx) {
    const { backups } = ctx.deps;
    const fresh = ctx.facts.get('backup-before')?.fresh === true;
    if (!backups || fresh)
      return { summary: `recent snapshot ${String(ctx.facts.get('backup-before')?.latestSnapshot)} exists` };
    const taken = await backups.take(ctx.signal);
    return { summary: `snapshot ${taken.id} taken into ${backups.url}`, facts: { snapshotTaken: taken.id } };
  },
  async verify(ctx) {
    const { snapshot: latest } = (await ctx.deps.backups?.latestGood(ctx.deps.options.mount)) ?? {};
    if (!latest)
      throw new VaultOpsError(
        'verification',
        `no good snapshot holding ${ctx.deps.options.mount}/ in ${ctx.deps.backups?.url}: take one (vault-ops ` +
          `snapshot save) and continue with --resume`,
      );
    return { summary: `newest good snapshot ${latest.id}` };
  },
};

// ── 7. backup-after ─────────────────────────────────────────────────────────────────────────

export const backupAfter: Step = {
  id: 'backup-after',
  title: 'Snapshot and rotation record',
  description:
    'Takes a snapshot into --snapshot-store so that the newest backup holds the new root (a restore of an older one ' +
    'would need a re-bootstrap), and writes a rotation record to --record-to (names and times, no secret values).',
  mutates: true,
  rerunnable: true,
  async inspect(ctx) {
    const { backups, records } = ctx.deps;
    if (!backups && !records) {
      return {
        lines: [],
        skip: 'no --snapshot-store or --record-to',
        warnings: [
          'no --snapshot-store: the newest backup still holds the OLD root; take a snapshot now (vault-ops snapshot ' +
            'save --to URL), or a restore of it will need a re-bootstrap',
        ],
      };
    }
    return {
      lines: [
        backups
          ? `would take a snapshot into ${backups.url}`
          : 'no --snapshot-store: no snapshot taken (the newest backup still holds the old root)',
        records ? `would write a rotation record to ${records.url}` : 'no --record-to: no rotation record',
      ],
    };
  },
  async action(ctx) {
    const { backups, records, options } = ctx.deps;
    const parts: string[] = [];
    const facts: StepFacts = {};
    if (backups) {
      const taken = await backups.take(ctx.signal);
      parts.push(`snapshot ${taken.id} taken`);
      facts.snapshotAfter = taken.id;
    }
    if (records) {
      const rotated = ctx.facts.get('rotate-root');
      const rotationId = String(rotated?.rotationId ?? 'unknown');
      const before = ctx.facts.get('backup-before');
      const snapshotBefore = before?.snapshotTaken ?? before?.latestSnapshot ?? undefined;
      await records.write({
        time: ctx.deps.now(),
        kind: 'database-root',
        mount: options.mount,
        path: `${options.mount}/config/${options.connection}`,
        rotationId,
        ...(typeof rotated?.clusterId === 'string' ? { clusterId: rotated.clusterId } : {}),
        ...(typeof rotated?.raftIndex === 'number' ? { raftIndex: rotated.raftIndex } : {}),
        ...(typeof rotated?.raftIndexBefore === 'number' ? { raftIndexBefore: rotated.raftIndexBefore } : {}),
        ...(typeof snapshotBefore === 'string' ? { snapshotBefore } : {}),
        ...(typeof facts.snapshotAfter === 'string' ? { snapshotAfter: facts.snapshotAfter } : {}),
      });
      parts.push(`rotation record ${rotationId} written`);
      facts.recordWritten = rotationId;
    }
    return { summary: parts.join('; '), facts };
  },
  async verify(ctx) {
    if (!ctx.deps.backups) return { summary: '' };
    const { snapshot: latest } = await ctx.deps.backups.latestGood(ctx.deps.options.mount);
    const taken = ctx.facts.get('backup-after')?.snapshotAfter;
    if (taken && latest?.id !== taken)
      throw new VaultOpsError(
        'verification',
        `the snapshot ${String(taken)} is not the newest good one in ${ctx.deps.backups.url}: check the store`,
      );
    return { summary: 'newest good snapshot holds the new root' };
  },
};
