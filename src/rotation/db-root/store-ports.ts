import type { Logger } from '../../observability/logger.js';
import type { SnapshotProtection } from '../../snapshot/protection.js';
import { saveSnapshot } from '../../snapshot/save.js';
import type { SnapshotRepository } from '../../repository/snapshot-repository.js';
import type { VaultClient } from '../../vault/client.js';
import type { BackupPort, RecordPort } from './deps.js';

/** The runbook's view of a snapshot store: the catalogue's newest good snapshot, and `snapshot save`. */
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

/** Rotation records beside the snapshots (`--record-to`), as the KV rotation writes them. */
export function rotationRecords(repository: SnapshotRepository, connection: string): RecordPort {
  return {
    url: repository.url,
    async write(record) {
      await repository.records.write({ ...record, connection, detail: 'database root rotated by runbook rotate-root' });
    },
  };
}
