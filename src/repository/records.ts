import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SnapshotStore } from '../store/snapshot-store.js';
import { recordKey, recordsPrefix } from './layout.js';

/**
 * One completed rotation, stored beside the snapshots (`<prefix>/records/…json`) so that a later
 * restore can list the rotations it rolled back. Never holds a secret value.
 *
 * A restore orders a record against a snapshot by what the cluster itself counted, never by the
 * clocks (`time` is for people): `raftIndex` is the cluster's applied raft index read right after
 * the rotation (a snapshot at or above it holds the rotation), `raftIndexBefore` the one read right
 * before (a snapshot at or below it does not); both belong to `clusterId`. `snapshotBefore` and
 * `snapshotAfter` name the rotate-root run's own snapshots. All are absent from older records.
 */
export const RotationRecordSchema = z.object({
  time: z.string(),
  kind: z.string(),
  rotationId: z.string(),
  mount: z.string().optional(),
  path: z.string().optional(),
  connection: z.string().optional(),
  detail: z.string().optional(),
  clusterId: z.string().optional(),
  raftIndex: z.number().int().nonnegative().optional(),
  raftIndexBefore: z.number().int().nonnegative().optional(),
  snapshotBefore: z.string().optional(),
  snapshotAfter: z.string().optional(),
});
export type RotationRecord = z.output<typeof RotationRecordSchema>;

export interface RotationRecordInput {
  time: Date;
  kind: string;
  mount?: string;
  path?: string;
  connection?: string;
  rotationId?: string;
  detail?: string;
  clusterId?: string;
  raftIndex?: number;
  raftIndexBefore?: number;
  snapshotBefore?: string;
  snapshotAfter?: string;
}

export async function writeRotationRecord(store: SnapshotStore, input: RotationRecordInput): Promise<string> {
  const rotationId = input.rotationId ?? randomBytes(6).toString('hex');
  const key = recordKey(
    store.prefix,
    input.time,
    input.kind,
    rotationId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128),
  );
  const record: RotationRecord = {
    time: input.time.toISOString(),
    kind: input.kind,
    rotationId,
    ...(input.mount ? { mount: input.mount } : {}),
    ...(input.path ? { path: input.path } : {}),
    ...(input.connection ? { connection: input.connection } : {}),
    ...(input.detail ? { detail: input.detail } : {}),
    ...(input.clusterId ? { clusterId: input.clusterId } : {}),
    ...(input.raftIndex !== undefined ? { raftIndex: input.raftIndex } : {}),
    ...(input.raftIndexBefore !== undefined ? { raftIndexBefore: input.raftIndexBefore } : {}),
    ...(input.snapshotBefore ? { snapshotBefore: input.snapshotBefore } : {}),
    ...(input.snapshotAfter ? { snapshotAfter: input.snapshotAfter } : {}),
  };
  await store.putBytes(key, `${JSON.stringify(record, null, 2)}\n`, { contentType: 'application/json' });
  return key;
}

/** Records newer than `since` (all when omitted), oldest first; unreadable records are skipped. */
export async function listRotationRecords(store: SnapshotStore, since?: Date): Promise<RotationRecord[]> {
  const objects = await store.list({ under: recordsPrefix('').replace(/^\//, '') });
  const out: RotationRecord[] = [];
  for (const o of objects) {
    if (!o.key.endsWith('.json')) continue;
    try {
      const parsed = RotationRecordSchema.safeParse(
        JSON.parse((await store.getBytes(o.key, { maxBytes: 64 * 1024 })).toString()),
      );
      if (parsed.success && (!since || new Date(parsed.data.time) > since)) out.push(parsed.data);
    } catch {
      /* not a record of ours */
    }
  }
  return out.sort((a, b) => (a.time < b.time ? -1 : 1));
}
