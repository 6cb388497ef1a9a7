import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';

/**
 * A host-wide cap on concurrent restore drills. A drill starts a scratch server holding the whole
 * restored data set (about 4× the snapshot in memory); on a VM that backs up several clusters, drills
 * due at the same hour would starve the machine. Each drill holds one of `max` slots, a file created
 * exclusively (`wx`) in a folder every daemon of the host shares, naming the daemon's pid; a drill that
 * finds every slot taken waits (polling), so drills due together queue. A slot whose daemon is gone
 * (killed, crashed) is stale and taken over, so nothing waits forever on a dead process.
 */
export interface DrillSlots {
  /** Wait for a slot; resolves with its release, or undefined when `signal` aborted the wait. */
  acquire(job: string, signal: AbortSignal): Promise<(() => Promise<void>) | undefined>;
}

export interface DrillSlotsOptions {
  /** The shared folder (made if missing, mode 0700: the daemons of one user share it). */
  dir: string;
  /** Slots: at most this many drills at once on the host (≥ 1). */
  max: number;
  logger: Logger;
  /** How often a queued drill looks for a free slot. */
  pollMs?: number;
  /** Whether a pid is a live process (injectable for tests). */
  alive?: (pid: number) => boolean;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function hostDrillSlots(options: DrillSlotsOptions): DrillSlots {
  const pollMs = options.pollMs ?? 1000;
  const alive = options.alive ?? processAlive;
  const slotFile = (i: number) => join(options.dir, `drill-slot-${i}.lock`);

  /** Take slot `i` if it is free or stale; true when this run holds it now. */
  async function take(i: number, job: string, retry = true): Promise<boolean> {
    const file = slotFile(i);
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, job, since: new Date().toISOString() }));
      } finally {
        await handle.close();
      }
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as { pid?: unknown },
      () => undefined,
    );
    // A slot being written this instant has no pid yet: taken. A pid that is gone: stale, free it.
    if (retry && holder && typeof holder.pid === 'number' && !alive(holder.pid)) {
      options.logger.warn({ slot: file, pid: holder.pid }, 'drill slot of a daemon that is gone: taken over');
      await unlink(file).catch(() => undefined);
      return take(i, job, false);
    }
    return false;
  }

  return {
    async acquire(job, signal) {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      let queued = false;
      for (;;) {
        for (let i = 0; i < options.max; i++) {
          if (await take(i, job)) {
            if (queued) options.logger.info({ job }, 'drill slot free: the queued drill starts');
            const file = slotFile(i);
            return () => unlink(file).catch(() => undefined);
          }
        }
        if (!queued) {
          queued = true;
          options.logger.info(
            { job, maxConcurrentDrills: options.max },
            'restore drill queued: the host already runs as many drills as allowed',
          );
        }
        if (!(await wait(pollMs, signal))) return undefined;
      }
    },
  };
}
