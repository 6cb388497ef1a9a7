/**
 * Where a rotation with hooks keeps its own entries in the staging mount (per live secret
 * `<mount>/<path>`). The setup policies grant exactly these paths, so both read them from here.
 */

/** The pending value while the hooks run. */
export function stagingPath(mount: string, path: string): string {
  return `pending/${mount}/${path}`;
}

/** The rotation lock (see lock.ts). */
export function lockPath(mount: string, path: string): string {
  return `locks/${mount}/${path}`;
}

/** The rotation's record of the value left to revoke (see revoke-record.ts). */
export function revokeRecordPath(mount: string, path: string): string {
  return `revoke/${mount}/${path}`;
}

export { DEFAULT_STAGING_MOUNT } from '../../options/shared.js';
