import { VaultOpsError } from '../../errors.js';

/**
 * The error for every failed integrity check of a snapshot archive. `problem` names what is
 * wrong (an entry name, an offset, a field) and never contains archive data bytes.
 */
export function corrupt(problem: string, cause?: unknown): VaultOpsError {
  return new VaultOpsError(
    'snapshot-corrupt',
    `snapshot archive is corrupt: ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * A name read from the archive (tar entry name, SHA256SUMS file name), quoted for a message:
 * control characters escaped, cut to 80 characters so a corrupted header cannot flood a log.
 */
export function quoteName(name: string): string {
  const cut = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return JSON.stringify(cut);
}
