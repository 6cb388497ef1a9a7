import { readFile } from 'node:fs/promises';
import { VaultOpsError } from '../errors.js';

/**
 * Read a file an option points at (keys, tokens, recipients, seal stanzas). A missing or
 * unreadable file is a configuration error naming the file, the errno and the flag to check.
 */
export async function readOptionFile(path: string, what: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new VaultOpsError('config', `cannot read the ${what} file ${path} (${code}): check ${flag}`, { cause: err });
  }
}

/**
 * A file holding one secret (a token, a JWT, a secret id): its trimmed text, registered before anything else sees it.
 */
export async function readSecretFile(
  path: string,
  what: string,
  flag: string,
  register: (value: string) => void,
): Promise<string> {
  const value = (await readOptionFile(path, what, flag)).trim();
  register(value);
  if (!value) throw new VaultOpsError('config', `the ${what} file ${path} is empty: check ${flag}`);
  return value;
}

/** A file of secrets, one per line (`#` comments allowed); each registered before it is returned. */
export async function readSecretLines(
  path: string,
  what: string,
  flag: string,
  register: (value: string) => void,
): Promise<string[]> {
  const lines = (await readOptionFile(path, what, flag))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  lines.forEach(register);
  if (lines.length === 0) throw new VaultOpsError('config', `the ${what} file ${path} is empty: check ${flag}`);
  return lines;
}
