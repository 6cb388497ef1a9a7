import { toolVersion } from '../version.js';
import { routeProcessWarnings } from '../observability/process-warnings.js';
import { unsupportedRuntime } from './runtime.js';
import { keepYoungGenerationSmall } from './young-generation.js';

/**
 * How a process runs the CLI (bin/vault-ops.js, entry.ts). `vault-ops --version` / `-V` alone is
 * answered here, before commander and the option tables (zod) load: it is what scripts and probes
 * call most, and it needs nothing but the version. Any other argument list goes to main(), which
 * prints the version the same way when asked among other flags.
 */
export async function launch(argv: string[]): Promise<number> {
  const refused = unsupportedRuntime();
  if (refused) {
    process.stderr.write(`${refused}\n`);
    return 2;
  }
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${toolVersion}\n`);
    return 0;
  }
  // Node's warnings (deprecations in dependencies, an SDK's notices) as JSON log records, not as
  // lines of their own in the middle of a job's log.
  routeProcessWarnings();
  // Before main and its dependencies load: their loading would already grow the young generation.
  keepYoungGenerationSmall();
  const { main } = await import('./main.js');
  return main(argv);
}
