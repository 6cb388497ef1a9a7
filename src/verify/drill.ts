import { join } from 'node:path';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import type { DrillRecord } from '../repository/drill-record.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import { checkScratchBinary, resolveScratchBinary } from './scratch-binary.js';
import { ScratchVault } from './scratch-vault.js';
import { recoveryChecks, unsealedChecks } from './drill-checks.js';
import { selectDrillTarget } from './select-target.js';
import { downloadArchive, openRestored, restoreArchive, startFresh } from './drill-phases.js';

export type DrillMode = 'recovery' | 'unsealed';

export interface DrillOptions {
  /** A snapshot id, `latest`, `oldest` or `unverified` (the newest snapshot without a passing drill). */
  snapshot: string;
  mode: DrillMode;
  /** vault/bao binary for the scratch server; default: the snapshot flavour's CLI on `searchPath`. */
  binary?: string;
  /** PATH to find the default binary in (the command's environment). */
  searchPath?: string;
  /** The SOURCE cluster's unseal keys (at least its threshold). */
  unsealKeys: string[];
  identities?: string[];
  /** A token of the source cluster (unsealed mode only). */
  verifyToken?: string;
  /** MOUNT/PATH secrets that must be readable (unsealed mode only). */
  checkSecrets?: string[];
  scratchPort?: number;
  /** The source's seal stanza (HCL) for auto-unseal snapshots. */
  sealConfig?: string;
  /** Environment variables that seal needs (see sealEnvironment); nothing else reaches the scratch server. */
  sealEnv?: Record<string, string>;
  /** How long to wait for a restore to be applied (the node seals itself). */
  restoreTimeoutMs?: number;
  tempRoot?: string;
}

export interface DrillDeps {
  repository: SnapshotRepository;
  logger: Logger;
  secrets: SecretRegistry;
  signal?: AbortSignal;
  /** Told how every drill ended, passed, failed or unable to run (metrics). */
  reporter?: DrillReporter;
  /** vault-ops' version, recorded in the drill record. */
  toolVersion: string;
}

/** What a drill reports: its report, or none when it could not run. */
export interface DrillReporter {
  drillFinished(report: DrillReport | undefined, at: Date): void;
  /** `--snapshot unverified` found every snapshot verified: nothing was drilled. */
  nothingToDrill(at: Date): void;
  /**
   * The creation time of the newest snapshot with a passing drill (this one's included, recorded or
   * not), once the catalogue was read; undefined when no snapshot has one.
   */
  newestVerified(createdAt: Date | undefined, at: Date): void;
  /** The cluster name the drilled (or newest verified) snapshot records: the metrics' default `vault_cluster`. */
  sawCluster?(name: string | undefined): void;
}

/**
 * How `runDrill` ended without throwing: a drill with its report (passed or failed) and where its
 * record went, or nothing to drill (`unverified` and every snapshot has a passing drill).
 */
export type DrillOutcome =
  | {
      kind: 'drilled';
      report: DrillReport;
      /** The drill record's key; null when the store refused it (`recordError` says why). */
      recordKey: string | null;
      recordError?: string;
    }
  | { kind: 'all-verified'; snapshots: number; newestVerified: string };

export interface DrillCheck {
  name: string;
  passed: boolean;
  detail: string;
}

/** A drill's result (`verify --output json`, with `record` beside it). Timings in seconds; `total` is the RTO. */
export interface DrillReport {
  snapshotId: string;
  mode: DrillMode;
  passed: boolean;
  checks: DrillCheck[];
  timings: { download: number; start: number; restore: number; unseal: number; checks: number; total: number };
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export async function runDrill(deps: DrillDeps, options: DrillOptions): Promise<DrillOutcome> {
  let report: DrillReport | undefined;
  let manifest: SnapshotManifest | undefined;
  /** The newest snapshot with a passing drill before this one; null: none; undefined: catalogue unread. */
  let verifiedBefore: SnapshotManifest | null | undefined;
  let nothingToDrill = false;
  /** The newest verified snapshot, read beside the drill of an exact id (metrics only). */
  let verifiedAside: Promise<SnapshotManifest | null | undefined> | undefined;
  try {
    const target = await selectDrillTarget(deps.repository, options.snapshot, {
      newestVerified: deps.reporter !== undefined,
      logger: deps.logger,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    if (target.verifiedBefore instanceof Promise) verifiedAside = target.verifiedBefore;
    else verifiedBefore = target.verifiedBefore;
    if (!target.manifest) {
      nothingToDrill = true;
      return { kind: 'all-verified', snapshots: target.snapshots, newestVerified: target.verifiedBefore.id };
    }
    manifest = target.manifest;
    const drilled = await drill(deps, options, manifest);
    report = drilled.report;
    const bound = { ...drilled, archiveSha256: manifest.archive.sha256 };
    return { kind: 'drilled', report, ...(await recordDrill(deps, options, bound)) };
  } finally {
    if (verifiedAside) verifiedBefore = await verifiedAside;
    const at = new Date();
    deps.reporter?.sawCluster?.((manifest ?? verifiedBefore ?? undefined)?.cluster.name);
    if (nothingToDrill) deps.reporter?.nothingToDrill(at);
    else deps.reporter?.drillFinished(report, at);
    if (verifiedBefore !== undefined) {
      // This drill counts even when its record could not be written (a read-only store).
      const candidates = [verifiedBefore, report?.passed ? manifest : undefined].filter(
        (m): m is SnapshotManifest => !!m,
      );
      const newest = candidates.map((m) => new Date(m.createdAt)).sort((a, b) => b.getTime() - a.getTime())[0];
      deps.reporter?.newestVerified(newest, at);
    }
  }
}

/**
 * Store the drill's result beside its snapshot. A store that refuses the write (read-only
 * credentials) loses only the record: the drill still counts, and the caller warns.
 */
async function recordDrill(
  deps: DrillDeps,
  options: DrillOptions,
  drilled: { report: DrillReport; server: DrillRecord['server']; archiveSha256: string },
): Promise<{ recordKey: string | null; recordError?: string }> {
  const { report } = drilled;
  const record: DrillRecord = {
    snapshotId: report.snapshotId,
    archiveSha256: drilled.archiveSha256,
    finishedAt: new Date().toISOString(),
    passed: report.passed,
    mode: options.mode,
    server: drilled.server,
    checks: report.checks,
    timings: report.timings,
    rtoSeconds: report.timings.total,
    toolVersion: deps.toolVersion,
  };
  try {
    return { recordKey: await deps.repository.drills.write(record) };
  } catch (err) {
    deps.logger.debug({ err: (err as Error).message }, 'drill record not written');
    return { recordKey: null, recordError: (err as Error).message };
  }
}

async function drill(
  deps: DrillDeps,
  options: DrillOptions,
  manifest: SnapshotManifest,
): Promise<{ report: DrillReport; server: DrillRecord['server'] }> {
  const started = Date.now();
  const timings = { download: 0, start: 0, restore: 0, unseal: 0, checks: 0, total: 0 };
  const checks: DrillCheck[] = [];
  /** The scratch server's flavour and version, once its binary was checked (a drill record field). */
  const server: DrillRecord['server'] = {};
  const report = (): { report: DrillReport; server: DrillRecord['server'] } => {
    timings.total = seconds(Date.now() - started);
    return {
      report: {
        snapshotId: manifest.id,
        mode: options.mode,
        passed: checks.length > 0 && checks.every((c) => c.passed),
        checks,
        timings,
      },
      server,
    };
  };
  const fail = (name: string, detail: string): ReturnType<typeof report> => {
    checks.push({ name, passed: false, detail });
    return report();
  };

  if (options.unsealKeys.length < manifest.seal.threshold) {
    throw new VaultOpsError(
      'config',
      `snapshot ${manifest.id} needs ${manifest.seal.threshold} unseal keys of its source cluster, ` +
        `${options.unsealKeys.length} given (--unseal-keys-file, one key per line)`,
    );
  }
  const verifyKeys = deps.repository.trust.verifyKeys;
  if (verifyKeys.length) {
    try {
      verifyManifestSignature(manifest, verifyKeys);
      checks.push({ name: 'manifest-signature', passed: true, detail: `signed by ${manifest.signature?.keyId}` });
    } catch (err) {
      return fail('manifest-signature', (err as Error).message);
    }
  }
  if (manifest.encryption && !options.identities?.length) {
    throw new VaultOpsError(
      'config',
      `snapshot ${manifest.id} is encrypted: pass --identity-file with a key for one of its recipients`,
    );
  }
  const binary = resolveScratchBinary(options.binary, manifest, options.searchPath);
  const identity = await checkScratchBinary(binary, manifest);
  if (identity.flavour) server.flavour = identity.flavour;
  if (identity.version) server.version = identity.version.join('.');

  const scratch = await ScratchVault.create({
    binary,
    ...(options.tempRoot ? { tempRoot: options.tempRoot } : {}),
    ...(options.scratchPort ? { apiPort: options.scratchPort } : {}),
    ...(options.sealConfig ? { sealConfig: options.sealConfig } : {}),
    ...(options.sealEnv ? { sealEnv: options.sealEnv } : {}),
  });
  deps.logger.debug({ dir: scratch.dir, addr: scratch.addr }, 'scratch server prepared');
  /** One phase, its time recorded once it has run (the report gives each phase's time). */
  const timed = async <T>(phase: Exclude<keyof DrillReport['timings'], 'total'>, run: () => Promise<T>) => {
    const t = Date.now();
    const result = await run();
    timings[phase] = seconds(Date.now() - t);
    return result;
  };
  try {
    const archive = join(scratch.dir, 'snapshot.snap');
    const integrity = await timed('download', () => downloadArchive(deps, options, manifest, archive));
    if (!integrity.passed) return fail('archive-integrity', integrity.detail);
    checks.push({ name: 'archive-integrity', passed: true, detail: integrity.detail });
    const admin = await timed('start', () => startFresh(scratch, deps));
    await timed('restore', () =>
      restoreArchive(scratch, admin, archive, manifest, deps, options.restoreTimeoutMs ?? 120_000),
    );
    await scratch.stop();
    const reader = await timed('unseal', () => openRestored(scratch, manifest, options, deps));
    if (typeof reader === 'string') return fail('unseal', reader);
    checks.push({
      name: 'unseal',
      passed: true,
      detail:
        `the source's unseal keys open snapshot ` +
        `${manifest.id}${options.mode === 'recovery' ? ' (recovery mode)' : ''}`,
    });
    checks.push(
      ...(await timed('checks', () =>
        options.mode === 'recovery'
          ? recoveryChecks(reader, manifest)
          : unsealedChecks(reader, manifest, options.checkSecrets ?? []),
      )),
    );
    return report();
  } catch (err) {
    if (isVaultOpsError(err) && err.code !== 'scratch' && err.code !== 'aborted' && err.code !== 'config') {
      // Anything the scratch server answered unexpectedly is the drill failing to run: keep the
      // server's last words, they say why.
      const tail = await scratch.logTail(5);
      deps.logger.debug({ serverLog: tail }, 'scratch server log tail');
    }
    throw err;
  } finally {
    await scratch.destroy();
  }
}
