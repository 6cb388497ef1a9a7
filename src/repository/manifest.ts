import { z } from 'zod';
import { VaultOpsError } from '../errors.js';

/**
 * What vault-ops knows about one stored snapshot; written LAST, after the archive, so a snapshot
 * without a manifest is by definition incomplete. camelCase JSON, documented in the README.
 */
const MountSchema = z.object({ path: z.string(), type: z.string() });

export const SnapshotManifestSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  archive: z.object({
    key: z.string(),
    bytes: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  plaintextSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  raft: z.object({
    index: z.number(),
    term: z.number(),
    configurationIndex: z.number(),
    servers: z.array(z.object({ id: z.string(), address: z.string(), suffrage: z.string() })),
  }),
  snapshotMeta: z.object({ version: z.number(), size: z.number() }),
  // `flavour` is absent from manifests written before vault-ops knew both servers.
  cluster: z.object({
    name: z.string().optional(),
    id: z.string().optional(),
    flavour: z.enum(['vault', 'openbao']).optional(),
    version: z.string().optional(),
    leader: z.string().optional(),
  }),
  seal: z.object({ type: z.string(), shares: z.number(), threshold: z.number() }),
  keyCounts: z.record(z.string(), z.number()),
  mounts: z.array(MountSchema),
  authMethods: z.array(MountSchema),
  policies: z.array(z.string()),
  canary: z.object({ mount: z.string(), path: z.string(), nonce: z.string(), time: z.string() }).optional(),
  /**
   * Why the snapshot was taken, when not by a backup job: `safety` is the state a restore replaced
   * (restore's safety snapshot). `snapshot list` flags it; `restore` and scheduled drills never pick it
   * by themselves. Absent from every other snapshot.
   */
  purpose: z.string().optional(),
  encryption: z.object({ type: z.literal('age'), recipients: z.array(z.string()) }).optional(),
  durationSeconds: z.number(),
  toolVersion: z.string(),
  signature: z.object({ algorithm: z.literal('ed25519'), keyId: z.string(), value: z.string() }).optional(),
});

export type SnapshotManifest = z.output<typeof SnapshotManifestSchema>;

/** Manifests are small; anything bigger is not ours. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export function parseManifest(bytes: Buffer | string, where: string): SnapshotManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch {
    throw new VaultOpsError(
      'verification',
      `manifest ${where} is not valid JSON: it was damaged or not written by vault-ops`,
    );
  }
  const parsed = SnapshotManifestSchema.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new VaultOpsError(
      'verification',
      `manifest ${where} is invalid: ${first?.path.join('.') || 'document'}: ${first?.message ?? 'bad shape'}`,
    );
  }
  return parsed.data;
}

/** Stable serialisation (sorted keys) so that a signature covers the same bytes everywhere. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
