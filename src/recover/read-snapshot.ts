import { join } from 'node:path';
import { VaultOpsError } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { downloadVerified } from '../snapshot/download-verified.js';
import type { VaultClient } from '../vault/client.js';
import type { DrillDeps } from '../verify/drill.js';
import { restoreArchive, startFresh } from '../verify/drill-phases.js';
import { checkScratchBinary, resolveScratchBinary } from '../verify/scratch-binary.js';
import { openInRecovery } from '../verify/scratch-unseal.js';
import { ScratchVault } from '../verify/scratch-vault.js';
import type { RecoverDeps, RecoverOptions } from './types.js';

/** What the scratch copy needs: the binary, the source's keys, identities, seal, ports, timeouts. */
export type ScratchOptions = Omit<RecoverOptions, 'snapshot' | 'paths' | 'policies' | 'version' | 'as'>;

/** How long each phase of reading the snapshot took, in seconds (the bench and `--output json` show them). */
export interface ReadTimings {
  download: number;
  restore: number;
  read: number;
}

const seconds = (ms: number) => Math.round(ms) / 1000;

/**
 * Restore the snapshot into a throw-away scratch server, open it in recovery mode with the source's keys
 * and hand the recovery-mode client to `read`. Recovery mode serves sys/raw and nothing else: no mount,
 * auth method, audit device, expiration manager or plugin is started, so nothing of the copy can reach a
 * real system (a database whose static role is due, the source's cluster port). The scratch server and
 * its temp dir are gone when this returns, whatever happened.
 */
export async function withSnapshotCopy<T>(
  deps: Omit<RecoverDeps, 'vault'>,
  options: ScratchOptions,
  manifest: SnapshotManifest,
  read: (raw: VaultClient) => Promise<T>,
): Promise<{ result: T; timings: ReadTimings }> {
  if (options.unsealKeys.length < manifest.seal.threshold) {
    throw new VaultOpsError(
      'config',
      `snapshot ${manifest.id} needs ${manifest.seal.threshold} unseal keys of the cluster it was taken from, ` +
        `${options.unsealKeys.length} given (--unseal-keys-file, one key per line)`,
    );
  }
  if (manifest.encryption && !options.identities?.length) {
    throw new VaultOpsError(
      'config',
      `snapshot ${manifest.id} is encrypted: pass --identity-file with a key for one of its recipients`,
    );
  }
  const binary = resolveScratchBinary(options.binary, manifest, options.searchPath);
  await checkScratchBinary(binary, manifest);
  const scratch = await ScratchVault.create({
    binary,
    ...(options.tempRoot ? { tempRoot: options.tempRoot } : {}),
    ...(options.scratchPort ? { apiPort: options.scratchPort } : {}),
    ...(options.sealConfig ? { sealConfig: options.sealConfig } : {}),
    ...(options.sealEnv ? { sealEnv: options.sealEnv } : {}),
  });
  // The drill's phases take the drill's dependencies; recovery keeps no drill record.
  const drillDeps: DrillDeps = {
    repository: deps.repository,
    logger: deps.logger,
    secrets: deps.secrets,
    toolVersion: deps.toolVersion,
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
  const timings: ReadTimings = { download: 0, restore: 0, read: 0 };
  try {
    let t = Date.now();
    const archive = join(scratch.dir, 'snapshot.snap');
    const integrity = await downloadVerified(
      { repository: deps.repository, ...(deps.signal ? { signal: deps.signal } : {}) },
      manifest,
      archive,
      options.identities,
    );
    if (!integrity.passed)
      throw new VaultOpsError(
        'snapshot-corrupt',
        `snapshot ${manifest.id} failed its integrity check (${integrity.detail}): nothing was recovered; ` +
          'pick another snapshot (vault-ops snapshot list)',
      );
    timings.download = seconds(Date.now() - t);
    t = Date.now();
    const admin = await startFresh(scratch, drillDeps);
    await restoreArchive(scratch, admin, archive, manifest, drillDeps, options.restoreTimeoutMs ?? 600_000);
    await scratch.stop();
    const raw = await openInRecovery(scratch, options.unsealKeys, manifest, drillDeps);
    if (typeof raw === 'string') throw new VaultOpsError('verification', raw);
    timings.restore = seconds(Date.now() - t);
    t = Date.now();
    const result = await read(raw);
    timings.read = seconds(Date.now() - t);
    return { result, timings };
  } catch (err) {
    deps.logger.debug({ serverLog: await scratch.logTail(5).catch(() => []) }, 'scratch server log tail');
    throw err;
  } finally {
    await scratch.destroy();
  }
}
