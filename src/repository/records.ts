import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { SnapshotStore } from '../store/snapshot-store.js';
import { recordKey, recordsPrefix } from './layout.js';

/**
 * One completed rotation, stored beside the snapshots (`<prefix>/records/…json`) so that a later
 * restore can list the rotations it rolled back. Never holds a secret value.
 */
export const RotationRecordSchema = z.object({
  time: z.string(),
  kind: z.string(),
  rotationId: z.string(),
  mount: z.string().optional(),
  path: z.string().optional(),
  connection: z.string().optional(),
  detail: z.string().optional(),
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
