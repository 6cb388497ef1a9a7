/**
 * The drill's watchdog: a tiny process beside the drill.
 *
 *   node watchdog.js <drill-pid> <dir-to-remove> [<command> [args…]]
 *
 * With a command it starts the scratch server and forwards SIGTERM/SIGINT to it. Without one it
 * only guards the drill's temp dir from the moment it is made (the decrypted archive lands there
 * before any server starts). If the drill process disappears (even SIGKILLed, when it can clean
 * nothing up itself), the watchdog kills the server and removes the drill's temp dir (which holds
 * the decrypted archive and the restored data) within about a second. Node has no parent-death
 * signal, hence this process. It runs in a process group of its own, so a SIGKILL of the job's
 * whole group (the daemon's last resort, a pod's stop) reaches the drill but not the watchdog.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const [parentArg, cleanupDir, command, ...args] = process.argv.slice(2);
const parentPid = Number(parentArg);
if (!parentPid || !cleanupDir) {
  process.stderr.write('usage: watchdog <parent-pid> <dir-to-remove-if-parent-dies> [<command> [args…]]\n');
  process.exit(2);
}

function parentAlive(): boolean {
  try {
    process.kill(parentPid, 0);
    return true;
  } catch {
    return false;
  }
}

function removeDrillDir(): void {
  try {
    rmSync(cleanupDir!, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

if (command) superviseServer(command);
else guardDir();

/** No server: remove the dir when the drill dies; on SIGTERM from the drill, exit and leave it to the drill. */
function guardDir(): void {
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  setInterval(() => {
    if (parentAlive()) return;
    removeDrillDir();
    process.exit(1);
  }, 500);
}

function superviseServer(serverCommand: string): void {
  const child = spawn(serverCommand, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  let stopping = false;

  child.on('error', (err) => {
    process.stderr.write(`watchdog: cannot start ${serverCommand}: ${err.message}\n`);
    process.exit(127);
  });

  child.on('exit', (code, signal) => {
    if (!parentAlive()) removeDrillDir();
    process.exit(code ?? (signal ? 128 + 15 : 1));
  });

  const stopChild = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    child.kill(signal);
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  };
  process.on('SIGTERM', () => stopChild('SIGTERM'));
  process.on('SIGINT', () => stopChild('SIGTERM'));

  setInterval(() => {
    if (parentAlive()) return;
    // The drill is gone: nothing else will clean up.
    child.kill('SIGKILL');
    child.once('exit', () => {
      removeDrillDir();
      process.exit(1);
    });
    setTimeout(() => {
      removeDrillDir();
      process.exit(1);
    }, 2000).unref();
  }, 500);
}
