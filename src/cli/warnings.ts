/**
 * The AWS SDK warns on every run under Node 20 that its 2027 releases will need Node 22. That
 * line would land in every CronJob log; keep Node's other warnings as they are.
 */
export function quietKnownWarnings(): void {
  const quiet = new Set(['NodeVersionSupportWarning']);
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    if (quiet.has(warning.name)) return;
    process.stderr.write(`(node) ${warning.name}: ${warning.message}\n`);
  });
}
