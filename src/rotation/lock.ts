import type { Logger } from 'pino';
import { CasMismatch, type KvV2 } from './kv.js';

/**
 * One rotation at a time per secret, with what both Vault and OpenBao offer: a create-only
 * (`cas: 0`) KV v2 entry `<staging>/locks/<mount>/<path>` holding the rotation id and an expiry.
 * The holder extends the expiry every third of the TTL (check-and-set on its own version); an
 * expired lock is stale (its holder died) and is taken over with check-and-set on the stale
 * version, so two runs cannot both take it. Release deletes the entry with all its versions.
 */
export interface LockInfo {
  rotationId: string;
  /** Which run holds it (host/pid/run id): for messages only. */
  holder: string;
  acquired: string;
  expires: string;
  /** The live version the holder planned to replace (hook-less rotations recover from it). */
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

export function lockPath(mount: string, path: string): string {
  return `locks/${mount}/${path}`;
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

  static async acquire(kv: KvV2, settings: LockSettings, mount: string, path: string, want: Omit<LockInfo, 'acquired' | 'expires'>): Promise<LockAttempt> {
    const location = lockPath(mount, path);
    const secretId = `${mount}/${path}`;
    const fresh = (): LockInfo => {
      const now = settings.now();
      return { ...want, acquired: now.toISOString(), expires: new Date(now.getTime() + settings.ttlMs).toISOString() };
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const info = fresh();
      try {
        const version = await kv.writeData(settings.stagingMount, location, { ...info }, 0);
        return { acquired: true, lock: new SecretLock(kv, settings, secretId, location, info, version).start() };
      } catch (err) {
        if (!(err instanceof CasMismatch)) throw err;
      }
      const current = await kv.readData(settings.stagingMount, location);
      if (!current) {
        // Released between our write and read (or only soft-deleted): clear the remains and retry.
        await kv.deleteAll(settings.stagingMount, location);
        continue;
      }
      const held = parseInfo(current.data);
      const expires = new Date(held.expires).getTime();
      if (Number.isFinite(expires) && expires > settings.now().getTime()) return { acquired: false, heldBy: held };
      try {
        const version = await kv.writeData(settings.stagingMount, location, { ...info }, current.version);
        settings.logger.warn({ secret: secretId, staleRotationId: held.rotationId, staleHolder: held.holder, expired: held.expires }, 'took over a stale rotation lock');
        return { acquired: true, lock: new SecretLock(kv, settings, secretId, location, info, version).start(), takenOver: held };
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
      this.settings.logger.warn({ secret: this.secretId, err: (err as Error).message }, 'could not extend the rotation lock');
    }
  }

  /** Throws if the lock was lost (taken over after expiry): the caller must stop before its next write. */
  assertHeld(): void {
    if (this.lostReason) throw new LockLost(this.secretId, this.lostReason);
  }

  /** Stop extending; delete the entry unless the lock was lost to another run. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beat;
    if (this.lostReason) return;
    await this.kv.deleteAll(this.settings.stagingMount, this.location);
  }

  /** Stop extending without deleting (the entry expires by itself). */
  async abandon(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beat;
  }
}

export class LockLost extends Error {
  override readonly name = 'LockLost';
  constructor(secretId: string, reason: string) {
    super(`lost the rotation lock of ${secretId}: ${reason}; the run stopped before writing again`);
  }
}
