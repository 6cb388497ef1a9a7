import { VaultOpsError } from '../errors.js';
import { readYamlFile } from './yaml-file.js';

/** Read the YAML `--config` file: a flat mapping of camelCase option names to values. */
export async function readConfigFile(path: string | undefined): Promise<Record<string, unknown>> {
  if (!path) return {};
  const doc = await readYamlFile(
    path,
    'config file',
    (code) => `cannot read config file ${path}: ${code}; check the --config path`,
  );
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new VaultOpsError('config', `config file ${path} must be a mapping of option names to values`);
  }
  return doc as Record<string, unknown>;
}
