import type { Logger } from 'pino';
import { VaultOpsError, isVaultOpsError } from '../../errors.js';
import { CasMismatch, type KvV2 } from './kv.js';
import { lockPath } from './paths.js';

/**
 * One rotation at a time per secret with hooks (a hook-less rotation needs none: its one live
 * write is a check-and-set, see rotate-secret.ts), with what both Vault and OpenBao offer: a create-only
 * (`cas: 0`) KV v2 entry `<staging>/locks/<mount>/<path>` holding the rotation id and an expiry.
 * The holder extends the expiry every third of the TTL (check-and-set on its own version); an
 * expired lock is stale (its holder died) and is taken over with check-and-set on the stale
 * version, so two runs cannot both take it.
 *
 * Every write to a lock that is not ours is a check-and-set on the exact version we read, and no
 * one ever deletes a lock it does not hold:
 * - an entry that reads empty (its current version deleted or destroyed) is not deleted but
 *   replaced by a check-and-set write on that version, so a lock another run took meanwhile
 *   (a newer version) is never touched;
 * - release first refreshes the lock with check-and-set on the holder's own version (this proves
 *   the entry is still this run's lock, not one another run took over after it expired), and only
 *   then deletes the entry with all its versions. A lock that is no longer ours is left alone.
 */
export interface LockInfo {
  rotationId: string;
  /** Which run holds it (host/pid/run id): for messages only. */
  holder: string;
  acquired: string;
  expires: string;
  /** The live version the holder planned to replace (informational: only rotations with hooks take locks). */
  baseVersion?: number;
}

export type LockAttempt =
  | { acquired: true; lock: SecretLock; takenOver?: LockInfo }
  | { acquired: false; heldBy: LockInfo };

export interface LockSettings {
  stagingMount: string;
  ttlMs: number;
  now(): Date;
  logger: Logger;
}

function parseInfo(data: Record<string, unknown>): LockInfo {
  return {
    rotationId: String(data.rotationId ?? ''),
    holder: String(data.holder ?? ''),
    acquired: String(data.acquired ?? ''),
    expires: String(data.expires ?? ''),
    ...(typeof data.baseVersion === 'number' ? { baseVersion: data.baseVersion } : {}),
  };
}

export class SecretLock {
  private version: number;
  private lostReason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private beat: Promise<void> = Promise.resolve();

  private constructor(
    private readonly kv: KvV2,
    private readonly settings: LockSettings,
    readonly secretId: string,
    private readonly location: string,
    private info: LockInfo,
    version: number,
  ) {
    this.version = version;
  }

  get rotationId(): string {
    return this.info.rotationId;
  }

  static async acquire(
    kv: KvV2,
    settings: LockSettings,
    mount: string,
    path: string,
    want: Omit<LockInfo, 'acquired' | 'expires'>,
  ): Promise<LockAttempt> {
    const location = lockPath(mount, path);
    const secretId = `${mount}/${path}`;
    const fresh = (): LockInfo => {
      const now = settings.now();
      return { ...want, acquired: now.toISOString(), expires: new Date(now.getTime() + settings.ttlMs).toISOString() };
    };
    let sawEmpty = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const info = fresh();
      try {
        const version = await kv.writeData(settings.stagingMount, location, { ...info }, 0);
        return { acquired: true, lock: new SecretLock(kv, settings, secretId, location, info, version).start() };
      } catch (err) {
        if (!(err instanceof CasMismatch)) throw err;
      }
      const current = await kv.readData(settings.stagingMount, location);
      let held: LockInfo | undefined;
      let version: number;
      if (current) {
        held = parseInfo(current.data);
        const expires = new Date(held.expires).getTime();
        if (Number.isFinite(expires) && expires > settings.now().getTime()) return { acquired: false, heldBy: held };
        version = current.version;
      } else {
        // Most often released between our write and our read: simply create it again.
        if (!sawEmpty) {
          sawEmpty = true;
          continue;
        }
        // Still empty: its current version is deleted or destroyed. Replace exactly that version.
        const empty = await emptyVersion(kv, settings.stagingMount, location);
        if (empty === undefined) continue;
        version = empty;
      }
      try {
        const written = await kv.writeData(settings.stagingMount, location, { ...info }, version);
        if (held)
          settings.logger.warn(
            { secret: secretId, staleRotationId: held.rotationId, staleHolder: held.holder, expired: held.expires },
            'took over a stale rotation lock',
          );
        else settings.logger.info({ secret: secretId, version }, 'replaced an empty rotation lock entry');
        return {
          acquired: true,
          lock: new SecretLock(kv, settings, secretId, location, info, written).start(),
          ...(held ? { takenOver: held } : {}),
        };
      } catch (err) {
        if (!(err instanceof CasMismatch)) throw err;
      }
    }
    const again = await kv.readData(settings.stagingMount, location);
    return { acquired: false, heldBy: again ? parseInfo(again.data) : { ...want, acquired: '', expires: '' } };
  }

  private start(): this {
    const interval = Math.max(200, Math.floor(this.settings.ttlMs / 3));
    this.timer = setInterval(() => {
      this.beat = this.beat.then(() => this.extend());
    }, interval);
    this.timer.unref();
    return this;
  }

  private async extend(): Promise<void> {
    if (this.lostReason) return;
    const now = this.settings.now();
    const info = { ...this.info, expires: new Date(now.getTime() + this.settings.ttlMs).toISOString() };
    try {
      this.version = await this.kv.writeData(this.settings.stagingMount, this.location, { ...info }, this.version);
      this.info = info;
    } catch (err) {
      if (err instanceof CasMismatch) {
        this.lostReason = 'another run took the lock over';
      } else if (new Date(this.info.expires).getTime() <= this.settings.now().getTime()) {
        this.lostReason = 'the lock expired while Vault could not be reached';
      }
      this.settings.logger.warn(
        { secret: this.secretId, err: (err as Error).message },
        'could not extend the rotation lock',
      );
    }
  }

  /** Throws if the lock was lost (taken over after expiry): the caller must stop before its next write. */
  assertHeld(): void {
    if (this.lostReason) throw new LockLost(this.secretId, this.lostReason);
  }

  /**
   * The same acquisition: a run resuming a rotation reuses its rotation id, so the id alone does not tell runs apart.
   */
  private isThisLock(other: LockInfo): boolean {
    return (
      other.rotationId === this.info.rotationId &&
      other.holder === this.info.holder &&
      other.acquired === this.info.acquired
    );
  }

  /**
   * Stop extending; delete the entry only while it is still this run's lock: a check-and-set
   * refresh on our own version proves it (and keeps it ours for another TTL), then the delete.
   * A lock lost or taken over by another run is left in place. Returns whether it was deleted.
   */
  async release(): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    await this.beat;
    if (this.lostReason) return false;
    for (let attempt = 0; ; attempt++) {
      const info = {
        ...this.info,
        expires: new Date(this.settings.now().getTime() + this.settings.ttlMs).toISOString(),
      };
      try {
        this.version = await this.kv.writeData(this.settings.stagingMount, this.location, { ...info }, this.version);
        this.info = info;
        break;
      } catch (err) {
        if (!(err instanceof CasMismatch)) throw err;
      }
      const current = await this.kv.readData(this.settings.stagingMount, this.location);
      const other = current ? parseInfo(current.data) : undefined;
      // Our own earlier write may have landed without us learning its version: then it is still ours.
      if (current && other && attempt === 0 && this.isThisLock(other)) {
        this.version = current.version;
        continue;
      }
      this.lostReason = 'another run took the lock over';
      this.settings.logger.warn(
        {
          secret: this.secretId,
          rotationId: this.info.rotationId,
          heldBy: other?.rotationId ?? null,
          holder: other?.holder ?? null,
        },
        other
          ? 'the rotation lock is held by another run now: left it in place'
          : 'the rotation lock was removed by someone else: nothing to release',
      );
      return false;
    }
    await this.kv.deleteAll(this.settings.stagingMount, this.location);
    return true;
  }

  /** Stop extending without deleting (the entry expires by itself). */
  async abandon(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beat;
  }
}

/**
 * The current version of a lock entry that reads empty (deleted or destroyed), for a
 * check-and-set write on exactly that version; `undefined` when the entry is gone or readable
 * again (someone wrote it meanwhile: look again).
 */
async function emptyVersion(kv: KvV2, stagingMount: string, location: string): Promise<number | undefined> {
  let meta;
  try {
    meta = await kv.readMetadata(stagingMount, location);
  } catch (err) {
    if (isVaultOpsError(err) && err.code === 'vault-permission') {
      throw new VaultOpsError(
        'vault-permission',
        `the lock ${stagingMount}/${location} reads empty (its current version is deleted) and this token may not ` +
          `read its metadata to replace it with check-and-set: grant read on ${stagingMount}/metadata/locks/* ` +
          `(docs/rotate-kv.md, "Vault policy for the rotation job")`,
        { cause: err },
      );
    }
    throw err;
  }
  if (!meta || meta.currentVersion === 0) return undefined;
  if (await kv.readData(stagingMount, location, meta.currentVersion)) return undefined;
  return meta.currentVersion;
}

export class LockLost extends Error {
  override readonly name = 'LockLost';
  constructor(secretId: string, reason: string) {
    super(`lost the rotation lock of ${secretId}: ${reason}; the run stopped before writing again`);
  }
}
