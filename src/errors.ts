/**
 * The one error family of vault-ops. Library code throws these; the CLI's single top-level
 * handler prints `message` once, logs `cause` at debug and exits with the code's exit status.
 *
 * A message is one line that names what failed and says what to do next. It never contains a
 * secret value (token, unseal key, password, generated secret): callers build messages from
 * names and paths only.
 */

/** Exit statuses, as documented in the README ("Exit codes"). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  verification: 3,
  confirmation: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What kind of failure this is; each kind maps to exactly one exit status. */
export type ErrorCode =
  | 'usage' // bad flag or argument
  | 'config' // invalid configuration (flags, env, file)
  | 'insecure' // refused plaintext http to a non-loopback address
  | 'vault-unreachable' // connection refused, DNS, timeout
  | 'vault-tls' // certificate verification failed
  | 'vault-auth' // login failed or token invalid/expired
  | 'vault-permission' // token lacks a capability
  | 'vault-sealed'
  | 'vault-uninitialized'
  | 'vault-no-leader'
  | 'vault-request' // any other non-2xx answer
  | 'store' // snapshot store failure (any backend)
  | 'not-found' // a named snapshot, file or object does not exist
  | 'snapshot-corrupt' // the archive failed an integrity check
  | 'verification' // a drill or check found a problem
  | 'scratch' // the restore drill's scratch server could not run
  | 'confirmation' // a confirmation was refused or is needed
  | 'aborted' // interrupted by a signal
  | 'internal';

const exitCodeOf: Record<ErrorCode, ExitCode> = {
  usage: ExitCode.usage,
  config: ExitCode.usage,
  insecure: ExitCode.usage,
  'vault-unreachable': ExitCode.failed,
  'vault-tls': ExitCode.failed,
  'vault-auth': ExitCode.failed,
  'vault-permission': ExitCode.failed,
  'vault-sealed': ExitCode.failed,
  'vault-uninitialized': ExitCode.failed,
  'vault-no-leader': ExitCode.failed,
  'vault-request': ExitCode.failed,
  store: ExitCode.failed,
  'not-found': ExitCode.failed,
  'snapshot-corrupt': ExitCode.verification,
  verification: ExitCode.verification,
  scratch: ExitCode.failed,
  confirmation: ExitCode.confirmation,
  aborted: ExitCode.failed,
  internal: ExitCode.failed,
};

export class VaultOpsError extends Error {
  override readonly name = 'VaultOpsError';
  readonly code: ErrorCode;
  /** What the server said, when it said something (Vault's first error line): for callers that explain it. */
  readonly detail: string | undefined;
  /**
   * The failure's one-line error is already on stderr (a child process printed its own): the CLI's
   * handler exits with the status and prints no second line, so a log holds one error line per failure.
   */
  readonly reported: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; detail?: string; reported?: boolean }) {
    super(message, options);
    this.code = code;
    this.detail = options?.detail;
    this.reported = options?.reported ?? false;
  }

  get exitCode(): ExitCode {
    return exitCodeOf[this.code];
  }
}

export function isVaultOpsError(err: unknown): err is VaultOpsError {
  return err instanceof VaultOpsError;
}

/** The exit status for any thrown value: unknown errors are operation failures. */
export function exitCodeFor(err: unknown): ExitCode {
  return isVaultOpsError(err) ? err.exitCode : ExitCode.failed;
}

/**
 * One argument of a command a message suggests (`run 'vault-ops … --mount X'`), quoted for a POSIX shell when it
 * holds anything but plain word characters: the value may come from a store object or Vault metadata that someone
 * else wrote, and an operator copies the command into a shell. Control characters never survive (they would redraw
 * the terminal; the output scrubber escapes them anyway).
 */
export function shellArg(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced
  const printable = value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return `'${printable.replace(/'/g, `'\\''`)}'`;
}
