import type { Logger } from '../observability/logger.js';
import type { SnapshotProtection } from '../snapshot/protection.js';
import { saveSnapshot } from '../snapshot/save.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import type { VaultClient } from '../vault/client.js';

/**
 * What both rotations (rotate kv, the rotate-root runbook) need from a snapshot store, as ports: the
 * rotation modules name these interfaces, the command builds them over the store modules, and the
 * tests can hand in their own.
 */

/** A snapshot store, as a rotation needs it around its change. */
export interface BackupPort {
  /** The store URL without credentials, for messages. */
  readonly url: string;
  /**
   * The newest snapshot that can give back the state before the rotation: it holds `mount` (its
   * manifest lists it) and, when it was drilled, its last drill passed. `passedOver` says why newer
   * ones do not count.
   */
  latestGood(mount?: string): Promise<{ snapshot?: GoodSnapshot; passedOver: string[] }>;
  /** Take a snapshot now and store it; resolves once it is stored as good. */
  take(signal?: AbortSignal): Promise<{ id: string }>;
}

export interface GoodSnapshot {
  id: string;
  time: Date;
  /** Its last restore drill passed, or it was never drilled. */
  drill: 'passed' | 'none';
}

/** One completed rotation, as recorded beside the snapshots (`--record-to`); never a value. */
export interface RotationRecordInput {
  time: Date;
  kind: 'database-root' | 'kv-rotation';
  mount: string;
  path: string;
  rotationId: string;
  /** The cluster and its raft applied index around the rotation: a restore orders the record by them. */
  clusterId?: string;
  raftIndex?: number;
  raftIndexBefore?: number;
  /** The run's own snapshots (rotate-root's backup-before and backup-after). */
  snapshotBefore?: string;
  snapshotAfter?: string;
}

/** Where rotation records go (`--record-to`). */
export interface RecordPort {
  readonly url: string;
  write(record: RotationRecordInput): Promise<void>;
}

/** A snapshot store as a BackupPort: the catalogue's newest good snapshot, and `snapshot save`. */
export function snapshotBackups(deps: {
  vault: VaultClient;
  repository: SnapshotRepository;
  logger: Logger;
  now?: () => Date;
  protection?: SnapshotProtection;
}): BackupPort {
  return {
    url: deps.repository.url,
    async latestGood(mount) {
      const catalogue = await deps.repository.catalogue({ uploads: false });
      const passedOver: string[] = [];
      const wanted = mount ? trimSlashes(mount) : undefined;
      for (const manifest of catalogue.snapshots) {
        if (wanted && !manifest.mounts.some((m) => trimSlashes(m.path) === wanted)) {
          passedOver.push(`${manifest.id} does not hold mount ${wanted}/ (taken before it existed?)`);
          continue;
        }
        const last = (await deps.repository.drillStatuses(catalogue, [manifest.id])).get(manifest.id)?.lastDrill;
        if (last && !last.passed) {
          passedOver.push(`${manifest.id} failed its last restore drill (${last.finishedAt})`);
          continue;
        }
        return {
          snapshot: { id: manifest.id, time: new Date(manifest.createdAt), drill: last ? 'passed' : 'none' },
          passedOver,
        };
      }
      return { passedOver };
    },
    async take(signal) {
      const result = await saveSnapshot(
        {
          vault: deps.vault,
          repository: deps.repository,
          logger: deps.logger,
          signal,
          ...(deps.now ? { now: deps.now } : {}),
        },
        { ...deps.protection },
      );
      for (const warning of result.warnings) deps.logger.warn({ snapshot: result.manifest.id }, warning);
      return { id: result.manifest.id };
    },
  };
}

const trimSlashes = (s: string) => s.replace(/^\/+|\/+$/g, '');

/**
 * Rotation records beside the snapshots (`--record-to`). `extra` is added to every record (the
 * runbook's connection and a line for people).
 */
export function rotationRecords(
  repository: SnapshotRepository,
  extra: { connection?: string; detail?: string } = {},
): RecordPort {
  return {
    url: repository.url,
    async write(record) {
      await repository.records.write({ ...record, ...extra });
    },
  };
}
