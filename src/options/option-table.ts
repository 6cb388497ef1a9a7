import { z } from 'zod';
import type { OptionSource } from '../config/resolve.js';

/**
 * One option of a command, declared once: everything else (the commander flag, the environment
 * and config-file resolution, the keys a config or job file may hold, the job JSON Schema, the
 * daemon's environment forwarding) is derived from it, so a flag added here appears everywhere.
 *
 * This module and the tables beside it import only zod and each other: they are read at start-up
 * by every command, and must not pull in the SDKs the commands load.
 */
export interface OptionSpec {
  /** camelCase name: the parsed flag's key, the config-file key and the job-file key. */
  readonly key: string;
  /** Commander flag text: `--to <url>`, a switch `--canary`, a negation `--no-safety-snapshot`. */
  readonly flag: string;
  /** The flag's help; the environment variables it names are part of it, as users read them there. */
  readonly help: string;
  /** Validates the merged value and supplies the default. */
  readonly type: z.ZodType;
  /** Environment variables, first one wins; the first is also the name the daemon forwards it under. */
  readonly env?: readonly string[];
  /** How to read the flag's (and the environment's) text: integer, number, repeatable list. */
  readonly parse?: 'int' | 'number' | 'list';
  /** What a valid value looks like, for messages; every required option has one (tested). */
  readonly example?: string;
  /** Values commander accepts for the flag (checked before our schema). */
  readonly choices?: readonly string[];
  /** A credential: never written to a job file, never passed as an argument to a child. */
  readonly secret?: true;
  /**
   * `command-line`: a decision for one run, from the command line alone (never the environment,
   * a config file or a job file): the command reads it from its flags.
   */
  readonly from?: 'command-line';
  /** A scheduled job may not set it (the scheduler names the reason). */
  readonly jobFile?: false;
}

export type OptionTable = readonly OptionSpec[];

/** The zod shape of a table, key by key, keeping each option's own type. */
export type ShapeOf<T extends OptionTable> = { [S in T[number] as S['key']]: S['type'] };

/** A flag without a value (`--canary`, `--no-canary`) is a boolean in the environment too. */
const isSwitch = (spec: OptionSpec) => !/[<[]/.test(spec.flag);

function envKind(spec: OptionSpec): OptionSource['fromEnv'] {
  if (spec.parse === 'int' || spec.parse === 'number') return 'number';
  if (spec.parse === 'list') return 'list';
  return isSwitch(spec) ? 'boolean' : 'string';
}

/** Where each option may come from besides its flag (options for the command line alone are left out). */
export function sourcesOf(table: OptionTable): OptionSource[] {
  return table
    .filter((s) => s.from !== 'command-line')
    .map((s) => ({
      key: s.key,
      ...(s.env ? { env: s.env } : {}),
      fromEnv: envKind(s),
      flag: s.flag,
      ...(s.example ? { example: s.example } : {}),
    }));
}

/** The keys a YAML config file may hold for these options. */
export function fileKeysOf(table: OptionTable): string[] {
  return sourcesOf(table).map((s) => s.key);
}

/** The options a job file's `options:` may hold (credentials stay in the environment). */
export function jobOptionsOf(table: OptionTable): OptionSpec[] {
  return table.filter((s) => s.from !== 'command-line' && !s.secret);
}

/**
 * The table's object schema; commands combine groups with `.and()` and add their cross-field
 * rules, so that each group's rules still run when another group has a problem (every problem
 * is reported at once).
 */
export function schemaOf<const T extends OptionTable>(table: T): z.ZodObject<ShapeOf<T>> {
  return z.object(Object.fromEntries(table.map((s) => [s.key, s.type]))) as unknown as z.ZodObject<ShapeOf<T>>;
}

/** One option by key, to reuse it in another table (with its own help where a command words it differently). */
export function pick<T extends OptionTable, K extends T[number]['key']>(
  table: T,
  key: K,
  change: Partial<Pick<OptionSpec, 'help'>> = {},
): Extract<T[number], { key: K }> {
  const spec = table.find((s) => s.key === key);
  if (!spec) throw new Error(`no option ${key}`);
  return { ...spec, ...change } as Extract<T[number], { key: K }>;
}

/**
 * Resolved values as environment variables (each option's first variable), for a child process
 * that resolves them again: a switch only when on, a list comma-separated, unset values left out.
 */
export function environmentOf(table: OptionTable, values: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const spec of table) {
    const name = spec.env?.[0];
    const value = values[spec.key];
    if (!name || value === undefined || value === false) continue;
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/**
 * The job JSON Schema's rule for one command (jobs/schema.json): when `command` is this one,
 * `options` may hold only these keys, each described by its flag's help. Values stay loose (a
 * job's option becomes a flag's text), as the scheduler reads them.
 */
export function jobOptionsJsonSchema(command: string, table: OptionTable): Record<string, unknown> {
  const options = jobOptionsOf(table);
  return {
    if: { properties: { command: { const: command } }, required: ['command'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
    then: {
      properties: {
        options: {
          propertyNames: { enum: options.map((s) => s.key) },
          properties: Object.fromEntries(options.map((s) => [s.key, { description: `${s.flag}: ${s.help}` }])),
        },
      },
    },
  };
}
