import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VaultOpsError, isVaultOpsError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { SecretRegistry } from '../observability/secret-registry.js';
import { emptyStoreError } from '../repository/catalogue.js';
import type { SnapshotDrillStatus } from '../repository/drill-history.js';
import type { DrillRecord } from '../repository/drill-record.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { verifyManifestSignature } from '../repository/signature.js';
import type { SnapshotRepository } from '../repository/snapshot-repository.js';
import type { VaultClient } from '../vault/client.js';
import { readAppliedIndex, restoreRaftSnapshot, waitForRestore } from '../vault/raft-snapshot.js';
import { downloadVerified } from '../snapshot/download-verified.js';
import { checkScratchBinary, resolveScratchBinary } from './scratch-binary.js';
import { forgetSourceActiveNode, listRawPolicies, readRawKvV1, readRawMountTable } from './raw-storage.js';
import { ScratchVault } from './scratch-vault.js';

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
  try {
    // download
    let t = Date.now();
    const archive = join(scratch.dir, 'snapshot.snap');
    const integrity = await downloadVerified(
      { repository: deps.repository, ...(deps.signal ? { signal: deps.signal } : {}) },
      manifest,
      archive,
      options.identities,
    );
    timings.download = seconds(Date.now() - t);
    if (!integrity.passed) return fail('archive-integrity', integrity.detail);
    checks.push({ name: 'archive-integrity', passed: true, detail: integrity.detail });

    // start: always a Shamir key of the scratch server's own, whatever the source's seal. The
    // restored keyring is sealed by the source's keys, which this server cannot open: it seals
    // itself instead of running the copy (expiration manager, plugins, audit devices) live.
    t = Date.now();
    await scratch.start('fresh', deps.signal);
    const anon = scratch.client();
    const init = await anon.write<{ keys_base64: string[]; root_token: string }>(
      'sys/init',
      { secret_shares: 1, secret_threshold: 1 },
      { unauthenticated: true },
    );
    deps.secrets.add(init.root_token);
    init.keys_base64.forEach((k) => deps.secrets.add(k));
    await anon.write('sys/unseal', { key: init.keys_base64[0] }, { unauthenticated: true });
    const scratchAdmin = scratch.client(init.root_token);
    await waitFor(
      'the scratch server to become active',
      async () =>
        (await scratchAdmin.read<{ is_self?: boolean }>('sys/leader', { unauthenticated: true })).is_self === true,
      60_000,
      deps.signal,
    );
    timings.start = seconds(Date.now() - t);

    // restore
    t = Date.now();
    const appliedBefore = await readAppliedIndex(scratchAdmin);
    await restoreRaftSnapshot(scratchAdmin, createReadStream(archive), {
      force: true,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    // Every snapshot is sealed by another cluster's keys than the scratch server's: the node seals
    // itself once the restore is applied. Wait for exactly that; nothing else counts as done.
    const restoreTimeoutMs = options.restoreTimeoutMs ?? 120_000;
    const { sealed: sealedAfterRestore, applied } = await waitForRestore(scratch.client(), {
      appliedBefore,
      snapshotIndex: manifest.raft.index,
      untilSealed: true,
      timeoutMs: restoreTimeoutMs,
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    if (!applied) {
      throw new VaultOpsError(
        'scratch',
        `the scratch server did not seal itself within ${Math.round(restoreTimeoutMs / 1000)} s of restoring ` +
          `snapshot ${manifest.id} (a restored snapshot always seals it): check the scratch server's resources and ` +
          `log, and try again`,
      );
    }
    timings.restore = seconds(Date.now() - t);
    deps.logger.debug({ sealedAfterRestore }, 'restore applied');
    await scratch.stop();

    // unseal
    t = Date.now();
    let reader: VaultClient;
    if (options.mode === 'recovery') {
      const opened = await openInRecovery(scratch, options.unsealKeys, manifest, deps);
      if (typeof opened === 'string') return fail('unseal', opened);
      reader = opened;
    } else {
      // The restored data still names the source's active node and its cluster address. Unsealed
      // as it is, the scratch server starts as that node's standby and dials it: the source
      // cluster, production perhaps. Vault (1.19 and later) answers that the scratch node is no
      // member, which then marks itself removed and never becomes active. So forget that node
      // first, in recovery mode, where nothing runs.
      const opened = await openInRecovery(scratch, options.unsealKeys, manifest, deps);
      if (typeof opened === 'string') return fail('unseal', opened);
      await forgetSourceActiveNode(opened);
      await scratch.stop();
      await scratch.start('restored-unsealed', deps.signal);
      // Auto-unseal sources unseal through their seal stanza; Shamir ones with the source's keys.
      const unsealed = options.sealConfig
        ? await waitUnsealed(scratch, deps.signal)
        : await unsealWithKeys(scratch, options.unsealKeys);
      if (unsealed) return fail('unseal', unsealed);
      if (!options.verifyToken)
        throw new VaultOpsError(
          'config',
          '--mode unsealed needs --verify-token-file: a token of the source cluster to read with',
        );
      reader = scratch.client(options.verifyToken);
      await waitFor(
        'the restored server to become active',
        async () =>
          (await reader.read<{ is_self?: boolean }>('sys/leader', { unauthenticated: true })).is_self === true,
        60_000,
        deps.signal,
      );
    }
    checks.push({
      name: 'unseal',
      passed: true,
      detail:
        `the source's unseal keys open snapshot ` +
        `${manifest.id}${options.mode === 'recovery' ? ' (recovery mode)' : ''}`,
    });
    timings.unseal = seconds(Date.now() - t);

    // checks
    t = Date.now();
    checks.push(
      ...(options.mode === 'recovery'
        ? await recoveryChecks(reader, manifest)
        : await unsealedChecks(reader, manifest, options.checkSecrets ?? [])),
    );
    timings.checks = seconds(Date.now() - t);
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

/** Recovery mode serves only sys/raw and the recovery-token endpoints. */
async function generateRecoveryToken(scratch: ScratchVault, keys: string[], threshold: number): Promise<string> {
  const client = scratch.client();
  const attempt = await client.write<{ nonce: string; otp: string; otp_length: number }>(
    'sys/generate-recovery-token/attempt',
    {},
    { unauthenticated: true },
  );
  let last: { complete?: boolean; encoded_token?: string } = {};
  try {
    for (const key of keys.slice(0, Math.max(threshold, 1))) {
      last = await client.write(
        'sys/generate-recovery-token/update',
        { key, nonce: attempt.nonce },
        { unauthenticated: true },
      );
      if (last.complete) break;
    }
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-request') {
      throw new VaultOpsError(
        'verification',
        `the unseal keys given do not open this snapshot (${withoutRequestPrefix(err.message)}): ` +
          'use the keys of the cluster it was taken from (after a rekey, old snapshots need the old keys)',
        { cause: err },
      );
    }
    throw err;
  }
  if (!last.complete || !last.encoded_token) {
    throw new VaultOpsError(
      'verification',
      `recovery token generation did not complete with ${keys.length} key(s): the snapshot's threshold is ${threshold}`,
    );
  }
  const encoded = Buffer.from(last.encoded_token, 'base64');
  return Buffer.from(encoded.map((b, i) => b ^ attempt.otp.charCodeAt(i))).toString('utf8');
}

/**
 * Start the scratch server in recovery mode on the restored data and make a recovery token with
 * the source's keys: a client holding it, or a failure detail when the keys do not open the
 * snapshot. The token is registered for redaction.
 */
async function openInRecovery(
  scratch: ScratchVault,
  keys: string[],
  manifest: SnapshotManifest,
  deps: { secrets: SecretRegistry; signal?: AbortSignal | undefined },
): Promise<VaultClient | string> {
  await scratch.start('recovery', deps.signal);
  try {
    const token = await generateRecoveryToken(scratch, keys, manifest.seal.threshold);
    deps.secrets.add(token);
    return scratch.client(token);
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'verification') return err.message;
    throw err;
  }
}

/** Unseal a normally started server with the source's keys; returns a failure detail or undefined. */
async function unsealWithKeys(scratch: ScratchVault, keys: string[]): Promise<string | undefined> {
  const client = scratch.client();
  try {
    for (const key of keys) {
      const status = await client.write<{ sealed: boolean }>('sys/unseal', { key }, { unauthenticated: true });
      if (!status.sealed) return undefined;
    }
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-request')
      return `the unseal keys given do not open the snapshot: ${err.message}`;
    throw err;
  }
  return 'the unseal keys given do not reach the threshold or do not open the snapshot';
}

/** An auto-unseal server opens itself through its seal: wait for that; a failure detail or undefined. */
async function waitUnsealed(scratch: ScratchVault, signal?: AbortSignal): Promise<string | undefined> {
  try {
    await waitFor(
      'the restored server to unseal through its seal',
      async () =>
        (await scratch.client().read<{ sealed: boolean }>('sys/seal-status', { unauthenticated: true })).sealed ===
        false,
      60_000,
      signal,
    );
    return undefined;
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'scratch')
      return (
        'the restored server did not unseal through the seal stanza given (--seal-config): check that it is the ' +
        "source cluster's seal and that the scratch server can reach it"
      );
    throw err;
  }
}

function setCheck(name: string, expected: string[], actual: string[], leftOut: string[] = []): DrillCheck {
  const missing = expected.filter((x) => !actual.includes(x));
  const extra = actual.filter((x) => !expected.includes(x));
  const passed = missing.length === 0 && extra.length === 0;
  // Say what was not compared, so that "2 match" beside a manifest listing 3 adds up.
  const notCompared = leftOut.length ? ` (built-in ${leftOut.join(', ')} not compared)` : '';
  return {
    name,
    passed,
    detail: passed
      ? `${expected.length} match the manifest${notCompared}`
      : [
          missing.length ? `missing: ${missing.join(', ')}` : '',
          extra.length ? `not in the manifest: ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
  };
}

const mountKey = (m: { path: string; type: string }) => `${m.path}(${m.type})`;
/** Built-in policies that the API lists or storage holds but the other does not. */
const builtinPolicies = new Set(['root', 'response-wrapping', 'control-group']);

async function recoveryChecks(raw: VaultClient, manifest: SnapshotManifest): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  const mounts = await readRawMountTable(raw, 'mounts');
  checks.push(setCheck('mounts', manifest.mounts.map(mountKey), mounts.map(mountKey)));
  const auth = await readRawMountTable(raw, 'auth');
  checks.push(setCheck('auth-methods', manifest.authMethods.map(mountKey), auth.map(mountKey)));
  const policies = await listRawPolicies(raw);
  checks.push(
    setCheck(
      'policies',
      manifest.policies.filter((p) => !builtinPolicies.has(p)),
      policies.filter((p) => !builtinPolicies.has(p)),
      manifest.policies.filter((p) => builtinPolicies.has(p)),
    ),
  );
  if (manifest.canary) {
    const mount = mounts.find((m) => m.path === `${manifest.canary!.mount}/`);
    const value = mount ? await readRawKvV1(raw, mount.uuid, manifest.canary.path) : undefined;
    checks.push(canaryCheck(manifest, value?.nonce));
  }
  return checks;
}

async function unsealedChecks(api: VaultClient, manifest: SnapshotManifest, secrets: string[]): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  const mounts =
    (await api.read<{ data?: Record<string, { type: string; options?: { version?: string } | null }> }>('sys/mounts'))
      .data ?? {};
  checks.push(
    setCheck(
      'mounts',
      manifest.mounts.map(mountKey),
      Object.entries(mounts).map(([path, m]) => mountKey({ path, type: m.type })),
    ),
  );
  const auth = (await api.read<{ data?: Record<string, { type: string }> }>('sys/auth')).data ?? {};
  checks.push(
    setCheck(
      'auth-methods',
      manifest.authMethods.map(mountKey),
      Object.entries(auth).map(([path, m]) => mountKey({ path, type: m.type })),
    ),
  );
  const policies = (await api.list<{ data?: { keys?: string[] } }>('sys/policies/acl')).data?.keys ?? [];
  checks.push(
    setCheck(
      'policies',
      manifest.policies.filter((p) => !builtinPolicies.has(p)),
      policies.filter((p) => !builtinPolicies.has(p)),
      manifest.policies.filter((p) => builtinPolicies.has(p)),
    ),
  );
  if (manifest.canary) {
    const value = await api
      .read<{ data?: { nonce?: string } }>(`${manifest.canary.mount}/${manifest.canary.path}`)
      .catch(() => undefined);
    checks.push(canaryCheck(manifest, value?.data?.nonce));
  }
  for (const spec of secrets) {
    const slash = spec.indexOf('/');
    const mount = spec.slice(0, slash);
    const path = spec.slice(slash + 1);
    const kv2 = mounts[`${mount}/`]?.options?.version === '2';
    try {
      await api.read(kv2 ? `${mount}/data/${path}` : `${mount}/${path}`);
      checks.push({ name: `secret ${spec}`, passed: true, detail: 'readable with the verify token' });
    } catch (err) {
      checks.push({ name: `secret ${spec}`, passed: false, detail: (err as Error).message });
    }
  }
  return checks;
}

function canaryCheck(manifest: SnapshotManifest, nonce: unknown): DrillCheck {
  const expected = manifest.canary!.nonce;
  if (nonce === expected)
    return {
      name: 'canary',
      passed: true,
      detail: `${manifest.canary!.mount}/${manifest.canary!.path} holds the nonce written just before the snapshot`,
    };
  return {
    name: 'canary',
    passed: false,
    detail:
      nonce === undefined
        ? `${manifest.canary!.mount}/${manifest.canary!.path} is missing from the restored data`
        : `${manifest.canary!.mount}/${manifest.canary!.path} holds another nonce: the archive is not the snapshot ` +
          `this manifest describes`,
  };
}

async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw new VaultOpsError('aborted', `restore drill interrupted while waiting for ${what}`);
    try {
      if (await probe()) return;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new VaultOpsError('scratch', `timed out waiting for ${what}`);
}

/** The server's own words of a 'vault-request' error, without our "Vault answered 400 to PUT …: " prefix. */
function withoutRequestPrefix(message: string): string {
  return message.replace(/^Vault answered \d+ to [^:]+: /, '');
}
