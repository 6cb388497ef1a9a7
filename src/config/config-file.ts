import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';

/** Read the YAML `--config` file: a flat mapping of camelCase option names to values. */
export async function readConfigFile(path: string | undefined): Promise<Record<string, unknown>> {
  if (!path) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}; check the --config path`,
      { cause: err },
    );
  }
  // The YAML parser is loaded only when there is a config file to parse.
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new VaultOpsError(
      'config',
      `config file ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
      { cause: err },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new VaultOpsError('config', `config file ${path} must be a mapping of option names to values`);
  }
  return doc as Record<string, unknown>;
}
