import { Command, CommanderError, Option } from 'commander';
import { ExitCode, VaultOpsError, exitCodeFor, isVaultOpsError } from '../errors.js';
import { globalOptionSources } from '../config/global-options.js';
import { secrets as processSecrets, type SecretRegistry } from '../observability/secret-registry.js';
import { toolVersion } from '../version.js';
import { statusCommand } from './commands/status.js';
import { rotateKvCommand } from './commands/rotate-kv.js';
import { snapshotCommand } from './commands/snapshot.js';
import { verifyCommand } from './commands/verify.js';
import { restoreCommand } from './commands/restore.js';
import { runbookCommand } from './commands/runbook.js';
import { setupCommand } from './commands/setup.js';
import { daemonCommand } from './commands/daemon.js';
import { createContext, type CommandContext } from './context.js';
import { createTerminal, type TerminalStreams } from './terminal.js';
import type { CommandModule, RunAction } from './command-module.js';

/** Every command, in help order. */
const commands: CommandModule[] = [statusCommand, snapshotCommand, verifyCommand, restoreCommand, runbookCommand, rotateKvCommand, setupCommand, daemonCommand];

export interface MainIo extends TerminalStreams {
  env?: NodeJS.ProcessEnv;
  secrets?: SecretRegistry;
}

/** Option keys any command accepts; the YAML config file may hold only these. */
const knownKeys = new Set<string>([
  ...globalOptionSources.map((s) => s.key),
  ...commands.flatMap((c) => (c.optionSources ?? []).map((s) => s.key)),
  'config',
]);

function addGlobalOptions(program: Command): void {
  program
    .option('--vault-addr <url>', 'Vault address (VAULT_ADDR, BAO_ADDR)')
    .option('--namespace <ns>', 'Vault namespace (VAULT_NAMESPACE)')
    .option('--ca-cert <file>', 'PEM CA bundle to trust (VAULT_CACERT)')
    .option('--tls-server-name <name>', 'expected server certificate name (VAULT_TLS_SERVER_NAME)')
    .option('--allow-insecure-http', 'allow plaintext http to a non-loopback address')
    .addOption(new Option('--auth-method <method>', 'token | kubernetes | approle (default token)'))
    .option('--token <token>', 'Vault token; prefer VAULT_TOKEN: argv is visible to other users')
    .option('--auth-mount <path>', 'auth method mount path (default: the method name)')
    .option('--auth-role <role>', 'role for kubernetes login')
    .option('--jwt-file <file>', 'service-account JWT for kubernetes login')
    .option('--role-id <id>', 'AppRole role id')
    .option('--secret-id-file <file>', 'file holding the AppRole secret id')
    .option('--request-timeout-seconds <n>', 'timeout of one Vault API request (default 30)', (v) => Number(v))
    .option('--log-level <level>', 'trace|debug|info|warn|error|silent (default info)')
    .addOption(new Option('--output <format>', 'text | json (default text)'))
    .option('--config <file>', 'YAML file of options (camelCase flag names); flags > env > file > defaults');
}

/**
 * Run the CLI; returns the exit status. The one place that prints an error: a single line naming
 * what failed and what to do, with registered secrets scrubbed; the detail goes to the debug log.
 */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const terminal = createTerminal(io);
  const { stdout, stderr } = terminal;
  const secrets = io.secrets ?? processSecrets;
  let exitCode: number = ExitCode.ok;

  const run: RunAction = async (cmd, action) => {
    let ctx: CommandContext | undefined;
    try {
      ctx = await createContext({ flags: cmd.optsWithGlobals(), env: io.env ?? process.env, terminal, knownKeys, secrets });
      await action(ctx);
    } catch (err) {
      exitCode = exitCodeFor(err);
      const message = isVaultOpsError(err) ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
      ctx?.logger.debug({ err: describeCause(err) }, 'error detail');
      stderr.write(`${secrets.scrub(`error: ${message}`.split('\n')[0] ?? '')}\n`);
    } finally {
      await ctx?.close();
    }
  };

  const program = new Command('vault-ops')
    .description('Operational chores for Vault / OpenBao with Raft storage')
    .version(toolVersion, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) })
    .exitOverride();
  addGlobalOptions(program);
  for (const command of commands) command.register(program, run);

  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    const wrapped = err instanceof VaultOpsError ? err : new VaultOpsError('internal', String((err as Error)?.message ?? err));
    stderr.write(`${secrets.scrub(`error: ${wrapped.message}`)}\n`);
    return wrapped.exitCode;
  }
  return exitCode;
}

/** Error detail for the debug log: names and codes, never request configs (they hold the token). */
function describeCause(err: unknown): unknown {
  const chain: Array<Record<string, unknown>> = [];
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: string; code?: string; message?: string; cause?: unknown };
    chain.push({ name: e.name, code: e.code, message: e.message });
    current = e.cause;
  }
  return chain;
}
