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
    async latestGood() {
      const { snapshots } = await deps.repository.catalogue();
      const newest = snapshots[0];
      return newest ? { id: newest.id, time: new Date(newest.createdAt) } : undefined;
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

/** Rotation records beside the snapshots (`--record-to`), as the KV rotation writes them. */
export function rotationRecords(repository: SnapshotRepository, connection: string): RecordPort {
  return {
    url: repository.url,
    async write(record) {
      await repository.records.write({ ...record, connection, detail: 'database root rotated by runbook rotate-root' });
    },
  };
}
