import type { Logger } from 'pino';
import { secrets } from './secret-registry.js';

/**
 * Node prints process warnings (a dependency's use of a deprecated API, an SDK's notice about the
 * runtime, …) to stderr as `(node:PID) …` lines, which break the JSON lines a job's log collector
 * parses. routeProcessWarnings() (the process entry calls it once) replaces Node's printer with one
 * that hands every warning to the command's logger as a `warn` record: nothing is dropped, it only
 * arrives as a log record. Warnings emitted before a command has a logger wait for it; any still
 * waiting when the process exits are written as JSON records of the same shape. `--no-warnings` and
 * NODE_NO_WARNINGS=1 keep them out, as they do Node's printer.
 */
let target: Logger | undefined;
const waiting: Error[] = [];
let routed = false;

export function routeProcessWarnings(proc: NodeJS.Process = process): void {
  if (routed) return;
  routed = true;
  // Node's own printer is the only 'warning' listener at start-up (none when warnings are off).
  proc.removeAllListeners('warning');
  if (proc.env.NODE_NO_WARNINGS === '1' || proc.execArgv.includes('--no-warnings')) return;
  proc.on('warning', (warning) => {
    if (target) logWarning(target, warning);
    else waiting.push(warning);
  });
  proc.on('exit', () => {
    for (const warning of waiting.splice(0)) {
      const record = { level: 40, time: new Date().toISOString(), ...warningFields(warning) };
      proc.stderr.write(`${secrets.scrub(JSON.stringify(record))}\n`);
    }
  });
}

/** From now on, process warnings go to `logger` (those waiting first). */
export function logProcessWarningsTo(logger: Logger): void {
  target = logger;
  for (const warning of waiting.splice(0)) logWarning(logger, warning);
}

function logWarning(logger: Logger, warning: Error): void {
  const { msg, ...fields } = warningFields(warning);
  logger.warn(fields, msg);
}

/** `DeprecationWarning DEP0169: url.parse() …` and the parts, as fields. */
function warningFields(warning: Error): { msg: string; warning: { name: string; code?: string } } {
  const { code: raw } = warning as Error & { code?: unknown };
  const code = typeof raw === 'string' ? raw : '';
  return {
    msg: `${warning.name}${code ? ` ${code}` : ''}: ${warning.message}`,
    warning: { name: warning.name, ...(code ? { code } : {}) },
  };
}
