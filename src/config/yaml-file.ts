import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';

/**
 * Read and parse a YAML file the user gave us (config file, rotation policy, job file). Any problem
 * is one 'config' error (exit 2): `unreadable` words the read failure for this kind of file (it
 * gets the errno code), a parse failure reads "<what> <path> is not valid YAML: <first line>".
 * The YAML parser is loaded only when there is a file to parse.
 */
export async function readYamlFile(path: string, what: string, unreadable: (code: string) => string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VaultOpsError('config', unreadable((err as NodeJS.ErrnoException).code ?? 'error'), { cause: err });
  }
  const { parse } = await import('yaml');
  try {
    return parse(text) as unknown;
  } catch (err) {
    throw new VaultOpsError('config', `${what} ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      cause: err,
    });
  }
}
