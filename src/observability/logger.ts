import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { secrets as processSecrets, type SecretRegistry } from './secret-registry.js';

export type { Logger } from 'pino';

/**
 * Field names whose values are always secret, wherever they appear (two levels deep).
 * Value-based scrubbing through the SecretRegistry backs this up for anything else.
 */
const secretFields = [
  'token',
  'clientToken',
  'client_token',
  'rootToken',
  'root_token',
  'recoveryToken',
  'unsealKeys',
  'unsealKey',
  'unseal_keys_b64',
  'keys',
  'keys_b64',
  'password',
  'secretId',
  'secret_id',
  'jwt',
  // A connection's client key (--client-key, PEM): the field, should a connection ever be logged.
  'clientKeyPem',
  'value',
  'values',
  'previous',
  'pending',
  'secretAccessKey',
  'authorization',
  'x-vault-token',
  'X-Vault-Token',
];
export const redactPaths = [
  ...secretFields,
  ...secretFields.map((f) => `*.${f}`),
  ...secretFields.map((f) => `*.*.${f}`),
  'headers["x-vault-token"]',
  '*.headers["x-vault-token"]',
];

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where lines go; defaults to stderr (stdout is for results). */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Pretty, human-readable lines (the CLI turns this on when stderr is a TTY). */
  pretty?: boolean;
  secrets?: SecretRegistry;
}

export async function createLogger(options: LoggerOptions = {}): Promise<Logger> {
  const registry = options.secrets ?? processSecrets;
  let destination = options.destination ?? process.stderr;
  if (options.pretty) {
    const { default: pretty } = await import('pino-pretty');
    destination = pretty({ destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' });
  }
  return pino(
    {
      level: options.level ?? 'info',
      // No pid and hostname in every record.
      base: null,
      redact: { paths: redactPaths, censor: '[REDACTED]' },
      hooks: {
        // Last line of defence: scrub registered secret values from the serialised line.
        streamWrite: (line: string) => registry.scrub(line),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as DestinationStream,
  );
}

/** A logger for library code that was given none (tests, embedding). */
export const silentLogger: Logger = pino({ level: 'silent' });
