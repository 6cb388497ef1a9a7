import { shellArg } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { RotationRecord } from '../repository/records.js';

/** The rotation records of one store, as read for a restore. */
export interface RecordSource {
  /** How the operator named the store (`--from` / `--records-from` as given): used in printed commands. */
  label: string;
  /** Where the store points, without credentials: for "read from". */
  url: string;
  records: RotationRecord[];
}

/**
 * How sure the restore is that a rotation is undone by it:
 * - `rolled-back`: the rotation happened after the snapshot (raft index, or the run's own snapshot ids);
 * - `may-not-have-happened`: only an interrupted run recorded it: whether its POST reached Vault is unknown;
 * - `ordered-by-clock`: an older record without a raft index, later than the snapshot by the clocks only.
 */
export type RotationCertainty = 'rolled-back' | 'may-not-have-happened' | 'ordered-by-clock';

/** One rotated thing (a database connection, a KV secret) the restore rolls back, however often it was rotated. */
export interface RolledBackRotation {
  kind: string;
  /** What was rotated, as a Vault path: `database/config/pg`, `secret/payments/stripe`. */
  where: string;
  mount?: string;
  connection?: string;
  path?: string;
  /** The newest record's time (for people; ordering never uses it). */
  time: string;
  /** Every rotation of it after the snapshot, oldest first. */
  rotationIds: string[];
  certainty: RotationCertainty;
  /** The store the newest record came from. */
  recordStore: string;
  /** What to do, as one line with the full command. */
  action: string;
}

export interface RotationReview {
  /** Every store read for records (URLs without credentials), the snapshot store first. */
  recordsRead: string[];
  rolledBack: RolledBackRotation[];
  /** Records left out and why (another cluster, a mount the snapshot does not hold). */
  notes: string[];
}

type Order = 'after' | 'held' | 'other-cluster' | 'clock-after' | 'clock-before';

/**
 * Whether a record's rotation came after the snapshot. By the rotate-root run's own snapshots first,
 * then by raft index within the same cluster (a cluster's applied index only grows; a restore installs
 * at a higher one), and only for records without either by the clocks, said as such.
 */
export function orderAgainst(record: RotationRecord, manifest: SnapshotManifest): Order {
  if (record.snapshotAfter === manifest.id) return 'held';
  if (record.snapshotBefore === manifest.id) return 'after';
  if (record.clusterId && manifest.cluster.id && record.clusterId !== manifest.cluster.id) return 'other-cluster';
  if (record.raftIndex !== undefined) {
    if (manifest.raft.index >= record.raftIndex) return 'held';
    return 'after';
  }
  return Date.parse(record.time) > Date.parse(manifest.createdAt) ? 'clock-after' : 'clock-before';
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

function connectionOf(record: RotationRecord): string | undefined {
  return record.connection ?? (record.kind === 'database-root' ? record.path?.split('/').pop() : undefined);
}

function whereOf(record: RotationRecord): string {
  const mount = trimSlashes(record.mount ?? '');
  if (record.kind === 'database-root') {
    const connection = connectionOf(record) ?? '?';
    return `${mount || '?'}/config/${connection}`;
  }
  const path = trimSlashes(record.path ?? '');
  // Records name the path within the mount; an older writer may have put the mount in front already.
  if (mount && path.startsWith(`${mount}/`)) return path;
  return [mount, path].filter(Boolean).join('/') || '?';
}

const isInterrupted = (record: RotationRecord) => record.rotationId.startsWith('interrupted-');

/**
 * The rotations a restore of `manifest` rolls back, from the records of every store read: matched
 * to the mounts the snapshot holds, one entry per connection or secret, each with the truthful next
 * step. `snapshotStore` is how the operator named the snapshot store (for the printed commands).
 */
export function reviewRotations(
  manifest: SnapshotManifest,
  sources: readonly RecordSource[],
  snapshotStore: string,
): RotationReview {
  const mounts = new Set(manifest.mounts.map((m) => trimSlashes(m.path)));
  const seen = new Set<string>();
  const groups = new Map<string, Array<{ record: RotationRecord; order: Order; source: RecordSource }>>();
  const otherCluster: string[] = [];
  const missingMounts = new Set<string>();
  for (const source of sources) {
    for (const record of source.records) {
      const identity = `${record.kind}|${record.rotationId}|${record.mount ?? ''}|${record.path ?? ''}`;
      if (seen.has(identity)) continue;
      seen.add(identity);
      const order = orderAgainst(record, manifest);
      if (order === 'held' || order === 'clock-before') continue;
      if (order === 'other-cluster') {
        otherCluster.push(record.rotationId);
        continue;
      }
      const mount = trimSlashes(record.mount ?? '');
      if (mount && !mounts.has(mount)) {
        missingMounts.add(mount);
        continue;
      }
      const key = `${record.kind}|${whereOf(record)}`;
      const group = groups.get(key) ?? [];
      group.push({ record, order, source });
      groups.set(key, group);
    }
  }

  const rolledBack: RolledBackRotation[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => rank(a.record) - rank(b.record) || (a.record.time < b.record.time ? -1 : 1));
    const newest = group.at(-1)!;
    const record = newest.record;
    const certain = group.some((g) => g.order === 'after' && !isInterrupted(g.record));
    const interruptedOnly = group.every((g) => isInterrupted(g.record));
    const certainty: RotationCertainty = certain
      ? 'rolled-back'
      : interruptedOnly
        ? 'may-not-have-happened'
        : 'ordered-by-clock';
    const mount = trimSlashes(record.mount ?? '');
    const connection = connectionOf(record);
    const entry: RolledBackRotation = {
      kind: record.kind,
      where: whereOf(record),
      ...(mount ? { mount } : {}),
      ...(connection && record.kind === 'database-root' ? { connection } : {}),
      ...(record.kind !== 'database-root' && record.path ? { path: trimSlashes(record.path) } : {}),
      time: record.time,
      rotationIds: group.map((g) => g.record.rotationId),
      certainty,
      recordStore: newest.source.url,
      action: '',
    };
    entry.action = actionFor(entry, { snapshotStore, recordStore: newest.source.label });
    rolledBack.push(entry);
  }
  rolledBack.sort((a, b) => (a.time < b.time ? -1 : 1));

  const notes: string[] = [];
  if (missingMounts.size)
    notes.push(
      `rotations recorded for mount(s) the snapshot does not hold (${[...missingMounts].sort().join(', ')}) are not ` +
        `listed: after the restore Vault has no such mount`,
    );
  if (otherCluster.length)
    notes.push(`${otherCluster.length} rotation record(s) of another cluster than the snapshot's are not listed`);
  return { recordsRead: [...new Set(sources.map((s) => s.url))], rolledBack, notes };
}

/** Raft order where known; records without an index sort first (their clocks order them among themselves). */
function rank(record: RotationRecord): number {
  return record.raftIndex ?? -1;
}

function rebootstrapCommand(mount: string, connection: string, stores: { snapshotStore: string; recordStore: string }) {
  return (
    `vault-ops runbook rotate-root --mount ${shellArg(mount)} --connection ${shellArg(connection)} --rebootstrap ` +
    `--password-file FILE --snapshot-store ${shellArg(stores.snapshotStore)} ` +
    `--record-to ${shellArg(stores.recordStore)}`
  );
}

function actionFor(entry: RolledBackRotation, stores: { snapshotStore: string; recordStore: string }): string {
  const times = entry.rotationIds.length > 1 ? ` (${entry.rotationIds.length} rotations)` : '';
  const clock =
    entry.certainty === 'ordered-by-clock'
      ? ' (ordered by the clocks only: the record, written by an older vault-ops, holds no raft index)'
      : '';
  if (entry.kind === 'database-root') {
    const mount = entry.mount ?? '?';
    const connection = entry.connection ?? '?';
    const fix =
      `have the DBA set a NEW password for the connection's user in the database (nobody knows the rotated one), ` +
      `write it to a 0600 file, then run '${rebootstrapCommand(mount, connection, stores)}'`;
    if (entry.certainty === 'may-not-have-happened')
      return (
        `a rotate-root run was interrupted after the snapshot: the rotation may not have happened: check with ` +
        `'vault-ops runbook rotate-root --mount ${shellArg(mount)} --connection ${shellArg(connection)} --dry-run' ` +
        `(path RE-BOOTSTRAP ` +
        `means it did); if it did, ${fix}`
      );
    return (
      `the database root was rotated after the snapshot${times}${clock}: Vault now holds the root password from ` +
      `before, which the database no longer accepts; ${fix}`
    );
  }
  if (entry.kind === 'recover') {
    return (
      `recovered from a snapshot after this one${times}${clock} (vault-ops recover): the restore undoes it; run ` +
      `the same recover again afterwards if the item is still needed`
    );
  }
  if (entry.kind.startsWith('kv')) {
    return (
      `rotated after the snapshot${times}${clock}: Vault now serves the previous value; run 'vault-ops rotate kv ` +
      `--policy FILE --force --only ${shellArg(entry.where)} --record-to ${shellArg(stores.recordStore)}' ` +
      `(or restore the value the target system uses)`
    );
  }
  return `rotated after the snapshot (${entry.kind})${times}${clock}: check that Vault and the target system agree`;
}
