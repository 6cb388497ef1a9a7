import { z } from 'zod';
import { VaultOpsError } from '../errors.js';

/**
 * The result of one restore drill (`verify`), stored beside the snapshot's manifest as
 * `<id>.drill-<time>.json` (layout.ts). It is the catalogue's answer to "has this snapshot been
 * proven to restore?", so it is written for failed drills too. camelCase JSON, documented in the
 * README; never holds a secret (check details are the drill's own one-line findings).
 */
export const DrillRecordSchema = z.object({
  snapshotId: z.string(),
  /**
   * The sha256 of the archive the drill restored (the manifest's `archive.sha256`): binds the record to
   * that archive, so a record cannot vouch for another archive put under the same id. Absent from
   * records written before records were signed.
   */
  archiveSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** When the drill finished (ISO 8601); the key's time is this, truncated to the second. */
  finishedAt: z.string(),
  passed: z.boolean(),
  mode: z.enum(['recovery', 'unsealed']),
  /** The scratch server the snapshot was restored into. */
  server: z.object({ flavour: z.enum(['vault', 'openbao']).optional(), version: z.string().optional() }),
  checks: z.array(z.object({ name: z.string(), passed: z.boolean(), detail: z.string() })),
  /** Seconds per phase; `total` is the recovery time the drill measured. */
  timings: z.object({
    download: z.number(),
    start: z.number(),
    restore: z.number(),
    unseal: z.number(),
    checks: z.number(),
    total: z.number(),
  }),
  /** Recovery time objective measured: seconds from the start of the download to a checked server. */
  rtoSeconds: z.number(),
  toolVersion: z.string(),
  /** ed25519 over the canonical JSON of every other field (repository/signature.ts), by verify's key. */
  signature: z.object({ algorithm: z.literal('ed25519'), keyId: z.string(), value: z.string() }).optional(),
});
export type DrillRecord = z.output<typeof DrillRecordSchema>;

/** Drill records are small; anything bigger is not ours. */
export const MAX_DRILL_RECORD_BYTES = 256 * 1024;

export function parseDrillRecord(bytes: Buffer | string, where: string): DrillRecord {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch {
    throw new VaultOpsError('verification', `drill record ${where} is not JSON: it was not written by vault-ops`);
  }
  const parsed = DrillRecordSchema.safeParse(doc);
  if (!parsed.success) {
    throw new VaultOpsError('verification', `drill record ${where} is not a vault-ops drill record`);
  }
  return parsed.data;
}
