import { VaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { emptyStoreError } from '../repository/catalogue.js';
import type { SnapshotDrillStatus } from '../repository/drill-history.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';

/** What `verify --snapshot WHICH` drills, and the newest snapshot verified before it (metrics). */
export type DrillTarget =
  | {
      manifest: SnapshotManifest;
      /**
       * Null: none verified; undefined: not read (an exact id, nobody reporting metrics); a promise: an
       * exact id's, read beside the drill (it needs the whole catalogue; it settles, never rejects).
       */
      verifiedBefore: SnapshotManifest | null | undefined | Promise<SnapshotManifest | null | undefined>;
    }
  | { manifest?: undefined; snapshots: number; verifiedBefore: SnapshotManifest };

/**
 * Verify's selection. `latest`, `oldest` and `unverified` read the catalogue (which snapshot is the
 * newest trusted one depends on every manifest: a newer one may be a replay), then drill records newest
 * snapshot first, only until the answer is known. An exact id reads that snapshot alone: every trust
 * rule holds but the replay check, which compares it with every other manifest; an exact id set apart
 * as an anomaly (a possible replay, a time at odds with its id) may be drilled anyway: the drill only
 * ever touches a scratch server, and its result is what the operator needs.
 */
export async function selectDrillTarget(
  repository: SnapshotRepository,
  which: string,
  options: { newestVerified: boolean; logger?: Logger; signal?: AbortSignal },
): Promise<DrillTarget> {
  // Selection needs no unfinished uploads (see CatalogueReadOptions.uploads).
  const read = { uploads: false, ...(options.signal ? { signal: options.signal } : {}) };
  const passed = (s: SnapshotDrillStatus) => s.lastPassingDrill !== null;
  if (!['latest', 'oldest', 'unverified'].includes(which)) {
    const one = await repository.catalogueOf(which, options.signal ? { signal: options.signal } : {});
    const manifest = repository.select(one, which, { allowAnomaly: true });
    if (!options.newestVerified) return { manifest, verifiedBefore: undefined };
    const aside = (async () => {
      const catalogue = await repository.catalogue(read);
      return (await repository.firstByDrill(catalogue, catalogue.snapshots, passed)) ?? null;
    })().catch((err: unknown) => {
      options.logger?.debug({ err: (err as Error).message }, 'newest verified snapshot not read');
      return undefined;
    });
    return { manifest, verifiedBefore: aside };
  }
  const catalogue = await repository.catalogue(read);
  const verifiedBefore = (await repository.firstByDrill(catalogue, catalogue.snapshots, passed)) ?? null;
  if (which !== 'unverified') {
    return { manifest: repository.select(catalogue, which, { allowAnomaly: true }), verifiedBefore };
  }
  if (catalogue.snapshots.length === 0) throw emptyStoreError(repository.url);
  // A restore's safety snapshot holds the state it replaced: a scheduled drill does not spend itself on
  // one (an explicit --snapshot ID drills it).
  const candidates = catalogue.snapshots.filter((m) => m.purpose !== 'safety');
  if (candidates.length === 0)
    throw new VaultOpsError(
      'not-found',
      `${repository.url} holds only safety snapshots of restores: --snapshot unverified skips them; ` +
        `drill one by its id (--snapshot ID)`,
    );
  const manifest = await repository.firstByDrill(catalogue, candidates, (s) => !passed(s));
  return manifest
    ? { manifest, verifiedBefore }
    : { snapshots: catalogue.snapshots.length, verifiedBefore: verifiedBefore! };
}

/**
 * The restore drill. Never touches a real system: the snapshot is restored into a scratch server
 * on loopback and, by default, opened only in recovery mode (no expiration manager, no plugins,
 * no audit devices), where it is read through sys/raw.
 *
 * The restored data never runs in normal mode unless `--mode unsealed` asked for it: the scratch
 * server is initialised with a Shamir key of its own, even for an auto-unseal source, so the
 * restore (whose keyring the source's keys seal) makes it seal itself at once; only then is it
 * restarted on the restored data, in recovery mode, with the source's seal stanza if any.
 *
 * Phases: download (sha256 against the manifest, decrypt, archive inspection, to a 0700 temp dir)
 * → start (scratch server, init, unseal with its own throw-away key) → restore (snapshot-force;
 * wait until the node has sealed itself) → unseal (recovery mode + recovery token from the
 * source's unseal or recovery keys, or an acknowledged normal start in unsealed mode) → checks.
 * A problem found by the drill is a failed check (exit 3); a drill that cannot run throws.
 */
