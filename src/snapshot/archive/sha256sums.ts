import { corrupt, quoteName } from './corrupt.js';

/**
 * Parser for a snapshot's SHA256SUMS: one line per file, `<sha256 hex>  <name>\n` (the format of
 * `sha256sum`, text mode), for exactly the files in `expected`, in any order. Returns the
 * lowercase hex digest for each expected name.
 */
export function parseSha256Sums<Name extends string>(
  bytes: Uint8Array,
  expected: readonly Name[],
): Record<Name, string> {
  if (bytes.length === 0) throw corrupt('SHA256SUMS is empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw corrupt('SHA256SUMS is malformed: it is not UTF-8 text');
  }
  if (!text.endsWith('\n')) throw corrupt('SHA256SUMS is malformed: the last line does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const found = new Map<string, string>();
  lines.forEach((line, index) => {
    const match = /^([0-9a-fA-F]{64}) {2}(.+)$/.exec(line);
    if (match === null) throw corrupt(`SHA256SUMS is malformed: line ${index + 1} is not "<sha256 hex>  <file name>"`);
    const [, hex, name] = match as unknown as [string, string, string];
    if (!(expected as readonly string[]).includes(name))
      throw corrupt(`SHA256SUMS lists an unexpected file ${quoteName(name)} on line ${index + 1}`);
    if (found.has(name)) throw corrupt(`SHA256SUMS lists ${name} more than once`);
    found.set(name, hex.toLowerCase());
  });
  for (const name of expected) {
    if (!found.has(name)) throw corrupt(`SHA256SUMS has no line for ${name}`);
  }
  return Object.fromEntries(found) as Record<Name, string>;
}
