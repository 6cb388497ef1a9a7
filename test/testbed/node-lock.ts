import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One testbed node on a machine at a time. The node changes machine-wide state (kernel settings,
 * iptables chains, the bridge, /var/log/containers) that a second node would share and undo under the
 * first: test files run side by side (`--test-concurrency`), and a user may run `npm run testbed --
 * --kubernetes` beside the tests. A directory made atomically, naming its holder's pid; one whose holder
 * is gone is taken over.
 */
const LOCK = join(process.env.XDG_RUNTIME_DIR ?? '/run', 'vault-ops-testbed-node.lock');
const WAIT_MS = 20 * 60_000;

let held = false;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Wait for the machine's node lock (up to 20 min, then fail loudly naming its holder). */
export async function acquireNodeLock(): Promise<void> {
  if (held) throw new Error('testbed node: this process already runs a node');
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      held = true;
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => ''));
    // A holder that is gone (killed): its node's leftovers are its own stop's to undo; take the lock.
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      await rm(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`testbed node: another node (pid ${holder || '?'}) has held ${LOCK} for 20 minutes`);
    }
    await sleep(500);
  }
}

/** Let the next node start (after this one undid what it changed). */
export async function releaseNodeLock(): Promise<void> {
  if (!held) return;
  held = false;
  await rm(LOCK, { recursive: true, force: true });
}
