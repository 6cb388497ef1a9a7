import { VaultOpsError } from '../errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * The prefix without leading or trailing slashes. Throws 'usage' when it contains a backslash,
 * a control character, or an empty, `.` or `..` segment.
 */
export function normalizePrefix(prefix: string): string {
  if (typeof prefix !== 'string') {
    throw new VaultOpsError('usage', 'invalid store prefix: expected a string such as "vault/prod"');
  }
  if (prefix.includes('\\')) {
    throw new VaultOpsError('usage', `invalid store prefix ${JSON.stringify(prefix)}: use "/" rather than "\\"`);
  }
  if (CONTROL_CHARS_RE.test(prefix)) {
    throw new VaultOpsError('usage', `invalid store prefix ${JSON.stringify(prefix)}: remove the control characters`);
  }
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') return '';
  for (const segment of trimmed.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new VaultOpsError(
        'usage',
        `invalid store prefix ${JSON.stringify(prefix)}: remove empty, "." and ".." path segments`,
      );
    }
  }
  return trimmed;
}

/** The key prefix to list: the store's (normalised) prefix, then `under` within it. */
export function listingPrefix(storePrefix: string, under?: string): string {
  const base = storePrefix ? `${storePrefix}/` : '';
  return under ? `${base}${under.replace(/^\/+/, '')}` : base;
}
