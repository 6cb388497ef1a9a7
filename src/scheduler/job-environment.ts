import { resolve } from 'node:path';
import { globalOptions, type GlobalOptions } from '../options/global.js';
import { environmentOf } from '../options/option-table.js';

/**
 * A job process's environment: the daemon's own, plus the daemon's resolved global options under
 * each option's first variable (options/global.ts), so that a flag or `--config` given to the
 * daemon reaches its jobs. Credentials (the token) travel here, never in the job's arguments.
 */
export function jobEnvironment(
  env: NodeJS.ProcessEnv,
  options: GlobalOptions,
  configFile: string | undefined,
): NodeJS.ProcessEnv {
  return {
    ...env,
    ...environmentOf(globalOptions, options),
    ...(configFile ? { VAULT_OPS_CONFIG: resolve(configFile) } : {}),
  };
}
