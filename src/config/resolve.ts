import type { z } from 'zod';
import { VaultOpsError } from '../errors.js';

/**
 * One option as the user may give it: a flag (camelCase key, as commander names it), one or more
 * environment variables, and the same camelCase key in the YAML `--config` file.
 */
export interface OptionSource {
  key: string;
  env?: readonly string[];
  /** How to turn an environment string into the value the schema expects. */
  fromEnv?: 'string' | 'boolean' | 'number' | 'list';
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
  if (!result.success) throw configError(result.error, origins);
  return result.data;
}

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function configError(error: z.ZodError, origins: Map<string, string>): VaultOpsError {
  const parts = error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || 'options';
    const topKey = String(issue.path[0] ?? '');
    const origin = origins.get(topKey);
    const where = origin ? `${key} (from ${origin})` : `${key} (${flagName(topKey || key)})`;
    return `${where}: ${issue.message}`;
  });
  return new VaultOpsError('config', `invalid configuration: ${parts.join('; ')}`);
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
