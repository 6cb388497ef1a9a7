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

/** Job commands that never talk to Vault: they get no Vault credential at all. */
const WITHOUT_VAULT: ReadonlySet<string> = new Set(['snapshot copy', 'snapshot prune', 'verify']);

/**
 * The variables of the global options that are Vault credentials or point at one (a token, an AppRole's
 * secret, a client key, a login password file).
 */
const CREDENTIAL_KEYS: ReadonlySet<string> = new Set([
  'token',
  'roleId',
  'secretIdFile',
  'clientKey',
  'authPasswordFile',
]);
const VAULT_CREDENTIALS = globalOptions.filter((o) => CREDENTIAL_KEYS.has(o.key)).flatMap((o) => o.env ?? []);

/**
 * The environment of one job's process: a command that never talks to Vault (verify, prune, copy)
 * gets none of the daemon's Vault credentials, so a drill or a prune that misbehaves cannot act on
 * the cluster with them.
 */
export function environmentForJob(command: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!WITHOUT_VAULT.has(command)) return env;
  const out = { ...env };
  // The variable --jwt-env names holds a JWT: it goes too.
  const jwtVariable = env.VAULT_OPS_JWT_ENV;
  if (jwtVariable) delete out[jwtVariable];
  for (const name of VAULT_CREDENTIALS) delete out[name];
  return out;
}
