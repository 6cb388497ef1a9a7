import type { KeyObject } from 'node:crypto';
import { parseSnapshotId } from './snapshot-id.js';
import type { SnapshotManifest } from './manifest.js';
import { manifestSignatureProblem } from './signature.js';

/**
 * What a store's catalogue trusts (issue "A snapshot store that someone else can write to"). The
 * store is less trusted than Vault: other tools and people may upload to it. With verify keys, a
 * manifest or drill record counts only when one of them verifies its signature; without any, the
 * store is "unsigned" and only the rules that need no key hold (ordering by id, no future dates,
 * replays flagged, prune deleting only what it can prove is its own).
 */
export interface CatalogueTrust {
  /** ed25519 public keys; empty: an unsigned store. */
  verifyKeys: readonly KeyObject[];
  /** Signs the drill records this run writes (verify's own key). */
  signingKey?: KeyObject;
  now: () => Date;
}

export const UNSIGNED_STORE: CatalogueTrust = { verifyKeys: [], now: () => new Date() };

/** How far a snapshot id may lie ahead of this machine's clock before it counts as dated in the future. */
export const ALLOWED_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The time a snapshot was taken, from its id (its key): the uploader of a manifest writes
 * `createdAt` freely, but the key is what listing, ordering and retention see, and a manifest that
 * disagrees with it is set apart (manifestAnomaly).
 */
export function snapshotTime(id: string): Date {
  const parsed = parseSnapshotId(id);
  if (!parsed) throw new Error(`not a snapshot id: ${id}`);
  return parsed.time;
}

/**
 * Why a manifest may not steer ordering, selection or pruning although it parses: its `createdAt`
 * disagrees with its id (a save makes both from one clock reading: the id is `createdAt` truncated to
 * the second), or it is dated in the future. Undefined when consistent.
 */
export function manifestTimeAnomaly(manifest: SnapshotManifest, now: Date): string | undefined {
  const idTime = snapshotTime(manifest.id).getTime();
  const created = Date.parse(manifest.createdAt);
  if (!Number.isFinite(created) || !/^\d{4}-\d{2}-\d{2}T/.test(manifest.createdAt)) {
    return 'createdAt is not a time';
  }
  if (Math.floor(created / 1000) * 1000 !== idTime) {
    return `createdAt ${manifest.createdAt} disagrees with the time in its id`;
  }
  if (idTime > now.getTime() + ALLOWED_CLOCK_SKEW_MS) return 'dated in the future';
  return undefined;
}

/** Why the manifest is not trusted under `trust` (a signature problem), or undefined. */
export function manifestTrustProblem(manifest: SnapshotManifest, trust: CatalogueTrust): string | undefined {
  if (trust.verifyKeys.length === 0) return undefined;
  return manifestSignatureProblem(manifest, trust.verifyKeys);
}

/**
 * The catalogue's order, oldest first: by the id's second (the key), then, within one second where the
 * random suffix orders nothing, by `createdAt` (which agrees with the id to the second for every
 * snapshot the catalogue keeps), then by id so that the order is total.
 */
export function compareSnapshotTimes(a: SnapshotManifest, b: SnapshotManifest): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return cmp(a.id.slice(0, 16), b.id.slice(0, 16)) || cmp(a.createdAt, b.createdAt) || cmp(a.id, b.id);
}

/**
 * Snapshots that look like an older snapshot put back under a newer id: two ids with the same
 * archive sha256 (both are flagged: which one is the copy cannot be told), or a snapshot whose raft
 * index is below an older snapshot's of the same cluster (the newer one is flagged). `manifests` in
 * any order; returns the reason for each flagged id.
 */
export function possibleReplays(manifests: readonly SnapshotManifest[]): Map<string, string> {
  const flagged = new Map<string, string>();
  const oldestFirst = [...manifests].sort(compareSnapshotTimes);
  const bySha = new Map<string, string>();
  const highest = new Map<string, { index: number; id: string }>();
  for (const m of oldestFirst) {
    const twin = bySha.get(m.archive.sha256);
    if (twin !== undefined) {
      flagged.set(m.id, `possible replay: the same archive as snapshot ${twin}`);
      if (!flagged.has(twin)) flagged.set(twin, `possible replay: the same archive as snapshot ${m.id}`);
    } else {
      bySha.set(m.archive.sha256, m.id);
    }
    const cluster = m.cluster.id;
    if (!cluster) continue;
    const before = highest.get(cluster);
    if (before && m.raft.index < before.index) {
      if (!flagged.has(m.id)) {
        flagged.set(
          m.id,
          `possible replay: raft index ${m.raft.index} is below older snapshot ${before.id}'s (${before.index})`,
        );
      }
      continue;
    }
    if (!before || m.raft.index > before.index) highest.set(cluster, { index: m.raft.index, id: m.id });
  }
  return flagged;
}
