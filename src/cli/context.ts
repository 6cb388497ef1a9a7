import { readConfigFile } from '../config/config-file.js';
import { GlobalOptionsSchema, globalOptionSources, type GlobalOptions } from '../options/global.js';
import { checkFileKeys, resolveOptions, type OptionSource } from '../config/resolve.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { logProcessWarningsTo } from '../observability/process-warnings.js';
import { secrets as processSecrets, type SecretRegistry } from '../observability/secret-registry.js';
import type { AuthSession } from '../vault/auth.js';
import type { VaultClient } from '../vault/client.js';
import { resolveConnection } from '../vault/connection.js';
import { createTerminal, type Terminal } from './terminal.js';

/**
 * What every command gets: resolved global options, the logger, the secret registry, where to
 * print results, and lazily a Vault client (connection resolved, login done on first use). The
 * client and the auth methods are loaded only then: commands that never talk to Vault (snapshot
 * list/inspect of a store, setup job-schema, daemon) do not load node-vault.
 */
export interface CommandContext {
  /** The command's words (`snapshot save`), for messages. */
  command?: string;
  options: GlobalOptions;
  /** The YAML config file's mapping (already checked for unknown keys), for command options. */
  file: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  logger: Logger;
  secrets: SecretRegistry;
  /** The operator's terminal: output streams, whether anyone can answer, prompts. */
  terminal: Terminal;
  /** Shorthand for terminal.stdout: where results go. */
  stdout: NodeJS.WritableStream;
  /** A client for --vault-addr, not yet logged in. */
  vault(): Promise<VaultClient>;
  /** Log the client in (once); later calls reuse the session. */
  login(client: VaultClient): Promise<void>;
  /** A logged-in client. */
  authenticatedVault(): Promise<VaultClient>;
  /**
   * A warning said once, after the command succeeded (a failed run ends in its one error line alone):
   * the same text twice is said once.
   */
  warnAfterSuccess(message: string, fields?: Record<string, unknown>): void;
  /** Say the deferred warnings (main, once the action returned). */
  flushWarnings(): void;
  close(): Promise<void>;
}

export interface ContextInputs {
  flags: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  terminal?: Terminal;
  /** Every option key any command accepts, to reject unknown keys in the config file. */
  knownKeys: ReadonlySet<string>;
  secrets?: SecretRegistry;
  /** The command's words (`snapshot save`), for messages. */
  command?: string;
}

export const allGlobalSources: readonly OptionSource[] = globalOptionSources;

export async function createContext(inputs: ContextInputs): Promise<CommandContext> {
  const env = inputs.env ?? process.env;
  const secrets = inputs.secrets ?? processSecrets;
  const configPath = (inputs.flags.config as string | undefined) ?? env.VAULT_OPS_CONFIG;
  const file = await readConfigFile(configPath);
  if (configPath) checkFileKeys(file, inputs.knownKeys, configPath);
  const options = resolveOptions(GlobalOptionsSchema, globalOptionSources, { flags: inputs.flags, env, file });
  secrets.add(options.token);
  // Credentials other tools read from the environment never appear in our output either.
  for (const name of [
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AZURE_STORAGE_KEY',
    'AZURE_STORAGE_CONNECTION_STRING',
    'AZURE_STORAGE_SAS_TOKEN',
  ])
    secrets.add(env[name]);
  const terminal = inputs.terminal ?? createTerminal();
  const logger = await createLogger({
    level: options.logLevel,
    destination: terminal.stderr,
    pretty: terminal.stderrIsTTY,
    secrets,
  });
  logProcessWarningsTo(logger);

  const deferred = new Map<string, Record<string, unknown>>();
  let client: VaultClient | undefined;
  let session: AuthSession | undefined;
  let loggingIn: Promise<void> | undefined;
  const context: CommandContext = {
    ...(inputs.command ? { command: inputs.command } : {}),
    options,
    file,
    env,
    logger,
    secrets,
    terminal,
    stdout: terminal.stdout,
    async vault() {
      if (!client) {
        const [{ VaultClient }, connection] = await Promise.all([
          import('../vault/client.js'),
          resolveConnection(options, (v) => secrets.add(v)),
        ]);
        client ??= new VaultClient(connection, undefined);
      }
      return client;
    },
    login(target: VaultClient) {
      loggingIn ??= import('../vault/auth.js')
        .then(({ authenticate }) =>
          authenticate(target, options, {
            secrets,
            logger,
            env,
            // A person at a terminal may type an ldap/userpass password; a job never is asked.
            ...(terminal.interactive ? { askPassword: (q: string) => terminal.promptHidden(q) } : {}),
          }),
        )
        .then((s) => {
          session = s;
          logger.debug({ method: s.method, ttlSeconds: s.ttlSeconds, renewable: s.renewable }, 'logged in to Vault');
        });
      return loggingIn;
    },
    async authenticatedVault() {
      const target = await context.vault();
      await context.login(target);
      return target;
    },
    warnAfterSuccess(message, fields = {}) {
      if (!deferred.has(message)) deferred.set(message, fields);
    },
    flushWarnings() {
      for (const [message, fields] of deferred) logger.warn(fields, message);
      deferred.clear();
    },
    async close() {
      session?.close();
    },
  };
  return context;
}

/**
 * Resolve a command's own options (flags > env > config file > defaults) with its zod schema; all
 * problems are reported together, naming each field.
 */
export function resolveCommandOptions<S extends import('zod').ZodType>(
  ctx: CommandContext,
  schema: S,
  sources: readonly OptionSource[],
  flags: Record<string, unknown>,
): import('zod').output<S> {
  return resolveOptions(schema, sources, { flags, env: ctx.env, file: ctx.file }, ctx.command);
}
