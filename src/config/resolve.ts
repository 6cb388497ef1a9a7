import type { z } from 'zod';
import { VaultOpsError } from '../errors.js';
import { ownMessageOf, problemOf } from './validation-message.js';

/**
 * One option as the user may give it: a flag (camelCase key, as commander names it), one or more
 * environment variables, and the same camelCase key in the YAML `--config` file.
 */
export interface OptionSource {
  key: string;
  env?: readonly string[] | undefined;
  /** How to turn an environment string into the value the schema expects. */
  fromEnv?: 'string' | 'boolean' | 'number' | 'list' | undefined;
  /** The flag as --help shows it (`--to <url>`), for messages. */
  flag?: string | undefined;
  /** What a valid value looks like, for messages. */
  example?: string | undefined;
}

export interface RawInputs {
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file: Record<string, unknown>;
}

type Origin = 'flag' | 'env' | 'file';

function parseEnvValue(raw: string, kind: OptionSource['fromEnv']): unknown {
  switch (kind) {
    case 'boolean':
      return /^(1|true|yes|on)$/i.test(raw.trim());
    case 'number':
      return raw.trim() === '' ? raw : Number(raw);
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

/**
 * Merge the sources with precedence flags > env > file; the schema supplies defaults and
 * validates. Every problem is collected and reported in one line naming each field and where
 * its value came from, so a user fixes everything in one go.
 */
export function resolveOptions<S extends z.ZodType>(
  schema: S,
  sources: readonly OptionSource[],
  inputs: RawInputs,
  /** The command's words (`snapshot save`), to say who needs a missing option. */
  command?: string,
): z.output<S> {
  const merged: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  for (const source of sources) {
    const candidates: Array<[Origin, string, unknown]> = [];
    candidates.push(['flag', flagName(source.key), inputs.flags[source.key]]);
    for (const name of source.env ?? []) {
      const raw = inputs.env[name];
      if (raw !== undefined && raw !== '') candidates.push(['env', name, parseEnvValue(raw, source.fromEnv)]);
    }
    candidates.push(['file', `config file key ${source.key}`, inputs.file[source.key]]);
    const chosen = candidates.find(([, , value]) => value !== undefined);
    if (chosen) {
      merged[source.key] = chosen[2];
      origins.set(source.key, chosen[1]);
    }
  }
  const result = schema.safeParse(merged);
  if (!result.success) throw configError(result.error, merged, origins, sources, command);
  return result.data;
}

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * Every problem in one line, in plain words: a missing option says who needs it, every way to give
 * it and an example (`snapshot save needs --to URL (or VAULT_OPS_SNAPSHOT_STORE, or to: in the
 * config file), e.g. s3://bucket/prefix`); a wrong value names where it came from and what would do.
 */
function configError(
  error: z.ZodError,
  merged: Record<string, unknown>,
  origins: Map<string, string>,
  sources: readonly OptionSource[],
  command: string | undefined,
): VaultOpsError {
  const byKey = new Map(sources.map((s) => [s.key, s]));
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const issue of error.issues) {
    const topKey = String(issue.path[0] ?? '');
    const source = byKey.get(topKey);
    // Nobody gave it (a list option reads an absent value as an empty list: too_small).
    const absent = issue.path.length === 1 && merged[topKey] === undefined;
    if (absent && (issue.code === 'invalid_type' || issue.code === 'too_small')) {
      missing.push(describeMissing(topKey, source));
      continue;
    }
    const field = issue.path.slice(1).map(String).join('.');
    const flag = topKey ? flagName(topKey) : 'options';
    const origin = origins.get(topKey);
    const where = `${flag}${field ? ` (${field})` : ''}${origin && origin !== flag ? ` (from ${origin})` : ''}`;
    // A rule we worded ourselves keeps its own sentence.
    const own = ownMessageOf(issue);
    if (own !== undefined) wrong.push(`${where}: ${own}`);
    else wrong.push(`${where} ${problemOf(issue)}${source?.example ? `, e.g. ${source.example}` : ''}`);
  }
  const parts = [
    ...(missing.length ? [`${command ?? 'this command'} needs ${missing.join('; and ')}`] : []),
    ...(wrong.length ? [`invalid configuration: ${wrong.join('; ')}`] : []),
  ];
  return new VaultOpsError('config', parts.join('; '));
}

function describeMissing(key: string, source: OptionSource | undefined): string {
  const flag = source?.flag ?? flagName(key);
  const display = flag.replace(/<([^>]+)>/, (_, name: string) => name.toUpperCase()).replace(/\[([^\]]+)\]/, '[$1]');
  const ways = [...(source?.env ?? []).slice(0, 1), `${key}: in the config file`];
  return `${display} (or ${ways.join(', or ')})${source?.example ? `, e.g. ${source.example}` : ''}`;
}

/** Keys a YAML config file may hold: the union of every command's options. */
export function checkFileKeys(file: Record<string, unknown>, known: ReadonlySet<string>, path: string): void {
  const unknown = Object.keys(file).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new VaultOpsError(
      'config',
      `invalid configuration: ${path}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (keys are ` +
        `the flag names in camelCase, e.g. vaultAddr)`,
    );
  }
}
