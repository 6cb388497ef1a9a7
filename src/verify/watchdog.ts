/**
 * The scratch server's watchdog: a tiny process between the drill and the server.
 *
 *   node watchdog.js <drill-pid> <dir-to-remove> <command> [args…]
 *
 * It starts the server and forwards SIGTERM/SIGINT to it. If the drill process disappears (even
 * SIGKILLed, when it can clean nothing up itself), the watchdog kills the server and removes the
 * drill's temp dir (which holds the restored data) within about a second. Node has no
 * parent-death signal, hence this process.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const [parentArg, cleanupDir, command, ...args] = process.argv.slice(2);
const parentPid = Number(parentArg);
if (!parentPid || !cleanupDir || !command) {
  process.stderr.write('usage: watchdog <parent-pid> <dir-to-remove-if-parent-dies> <command> [args…]\n');
  process.exit(2);
}

const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;

child.on('error', (err) => {
  process.stderr.write(`watchdog: cannot start ${command}: ${err.message}\n`);
  process.exit(127);
});
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

child.on('exit', (code, signal) => {
  if (!parentAlive()) removeDrillDir();
  process.exit(code ?? (signal ? 128 + 15 : 1));
});

function stopChild(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  child.kill(signal);
  setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
}
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
