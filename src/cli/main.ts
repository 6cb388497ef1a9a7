import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { ExitCode, VaultOpsError, exitCodeFor, isVaultOpsError } from '../errors.js';
import { configFileKeys } from '../options/all-commands.js';
import { addOptions } from '../options/commander-options.js';
import { configFileOption, globalOptions } from '../options/global.js';
import { secrets as processSecrets, type SecretRegistry } from '../observability/secret-registry.js';
import { toolVersion } from '../version.js';
import { statusCommand } from './commands/status.js';
import { rotateKvCommand } from './commands/rotate-kv.js';
import { snapshotCommand } from './commands/snapshot.js';
import { verifyCommand } from './commands/verify.js';
import { restoreCommand } from './commands/restore.js';
import { recoverCommand } from './commands/recover.js';
import { reportCommand } from './commands/report.js';
import { runbookCommand } from './commands/runbook.js';
import { setupCommand } from './commands/setup.js';
import { daemonCommand } from './commands/daemon.js';
import { completionCommand } from './commands/completion.js';
import type { CommandContext } from './context.js';
import { createTerminal, type TerminalStreams } from './terminal.js';
import { escapeControl } from './output.js';
import type { CommandModule, RunAction } from './command-module.js';
import { commandExamples, examplesHelp } from './examples.js';

/** Every command, in help order. */
const commands: CommandModule[] = [
  statusCommand,
  snapshotCommand,
  verifyCommand,
  restoreCommand,
  recoverCommand,
  reportCommand,
  runbookCommand,
  rotateKvCommand,
  setupCommand,
  daemonCommand,
  completionCommand,
];

export interface MainIo extends TerminalStreams {
  env?: NodeJS.ProcessEnv;
  secrets?: SecretRegistry;
}

/** Option keys any command accepts (from the option tables); the YAML config file may hold only these. */
const knownKeys = configFileKeys();

/**
 * Run the CLI; returns the exit status. The one place that prints an error: a single line naming
 * what failed and what to do, with registered secrets scrubbed; the detail goes to the debug log.
 */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const secrets = io.secrets ?? processSecrets;
  // Results pass the same scrubber as errors: a secret that slipped into a result never reaches stdout.
  const terminal = createTerminal({ ...io, stdout: scrubbed(io.stdout ?? process.stdout, secrets) });
  const { stdout, stderr } = terminal;
  let exitCode: number = ExitCode.ok;

  const run: RunAction = async (cmd, action) => {
    let ctx: CommandContext | undefined;
    try {
      // Loaded here, not at start-up: --help and --version need no logger, config file or Vault client.
      const { createContext } = await import('./context.js');
      ctx = await createContext({
        flags: cmd.optsWithGlobals(),
        env: io.env ?? process.env,
        terminal,
        knownKeys,
        secrets,
        command: commandWords(cmd),
      });
      await action(ctx);
      ctx.flushWarnings();
    } catch (err) {
      exitCode = exitCodeFor(err);
      const message = isVaultOpsError(err)
        ? err.message
        : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
      ctx?.logger.debug({ err: describeCause(err) }, 'error detail');
      if (!(isVaultOpsError(err) && err.reported))
        stderr.write(`${escapeControl(secrets.scrub(`error: ${message}`.split('\n')[0] ?? ''))}\n`);
    } finally {
      await ctx?.close();
    }
  };

  const program = createProgram(run, { stdout, stderr });
  if (versionBeforeAnyCommand(argv.slice(2))) {
    stdout.write(`${toolVersion}\n`);
    return ExitCode.ok;
  }

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
        return ExitCode.ok;
      return ExitCode.usage;
    }
    const wrapped =
      err instanceof VaultOpsError ? err : new VaultOpsError('internal', String((err as Error)?.message ?? err));
    stderr.write(`${escapeControl(secrets.scrub(`error: ${wrapped.message}`))}\n`);
    return wrapped.exitCode;
  }
  return exitCode;
}

/**
 * `--version` before any command word prints the tool's version. After one it is that command's own
 * flag (`recover --version N`): commander would otherwise take it for the program's wherever it stood.
 */
function versionBeforeAnyCommand(args: string[]): boolean {
  for (const arg of args) {
    if (arg === '--version') return true;
    if (!arg.startsWith('-')) return false;
  }
  return false;
}

/** A stream that writes through `target` with every registered secret value scrubbed from each chunk. */
function scrubbed(target: NodeJS.WritableStream, secrets: SecretRegistry): NodeJS.WritableStream {
  const out = new Writable({
    decodeStrings: false,
    // Passed on at once (not after the target's callback): what a command printed is in the target
    // by the time main() returns, as it was when commands wrote to the target directly.
    write(chunk: string | Buffer, _encoding, callback) {
      target.write(secrets.scrub(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      callback();
    },
  });
  return Object.assign(out, { isTTY: (target as { isTTY?: boolean }).isTTY });
}

/** `snapshot save` for the save subcommand: the words after the program's name. */
function commandWords(cmd: Command): string {
  const words: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) words.unshift(c.name());
  return words.join(' ');
}

/**
 * The command tree: every command registered with `run` as its runner, output to the given
 * streams, errors thrown (exitOverride) rather than exiting, each command's examples at the end of
 * its help. The tests build it with a recording runner to parse the examples.
 */
export function createProgram(run: RunAction, out: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }) {
  const { stdout, stderr } = out;
  const program = new Command('vault-ops')
    .description('Operational chores for Vault / OpenBao with Raft storage')
    .version(toolVersion, '-V', 'output the version number (also --version, before any command)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) })
    .exitOverride();
  addOptions(program, [...globalOptions, configFileOption]);
  for (const command of commands) command.register(program, run);

  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) });
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);

  const withExamples = (cmd: Command, path: string): void => {
    const examples = commandExamples[path];
    if (examples) cmd.addHelpText('after', examplesHelp(examples));
    for (const sub of cmd.commands) withExamples(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  withExamples(program, '');
  return program;
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
