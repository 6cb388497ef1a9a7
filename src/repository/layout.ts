import { VaultOpsError } from '../errors.js';
import { normalizePrefix } from '../store/prefix.js';
import { formatCompactUtc, parseCompactUtc } from '../time/compact-utc.js';
import { isSnapshotId } from './snapshot-id.js';

/**
 * Every object key of the snapshot store is named here and nowhere else.
 *
 *   <prefix>/<id>.snap                   plaintext archive
 *   <prefix>/<id>.snap.age               age-encrypted archive
 *   <prefix>/<id>.manifest.json          manifest of one snapshot
 *   <prefix>/<id>.drill-<YYYYMMDDTHHMMSSZ>.json   one restore drill of that snapshot (verify)
 *   <prefix>/records/<YYYYMMDDTHHMMSSZ>-<kind>-<rotationId>.json
 *   <prefix>/catalogue-index.json.gz      copies of the manifests and drill records (catalogue-index.ts)
 *
 * The prefix may be empty, in which case keys start directly with the file name.
 */

export const ARCHIVE_SUFFIX = '.snap';
export const ENCRYPTED_ARCHIVE_SUFFIX = '.snap.age';
export const MANIFEST_SUFFIX = '.manifest.json';
export const DRILL_INFIX = '.drill-';
export const RECORDS_DIR = 'records';
export const CATALOGUE_INDEX_NAME = 'catalogue-index.json.gz';

export type KeyClass =
  | { kind: 'archive'; id: string; encrypted: boolean }
  | { kind: 'manifest'; id: string }
  | { kind: 'drill'; id: string; time: Date }
  | { kind: 'record' }
  | { kind: 'index' }
  | { kind: 'other' };

const DRILL_NAME_RE = /^(.+)\.drill-(\d{8}T\d{6}Z)\.json$/;
const NAME_PART_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function join(prefix: string, rest: string): string {
  const p = normalizePrefix(prefix);
  return p === '' ? rest : `${p}/${rest}`;
}

function requireSnapshotId(id: string): void {
  if (!isSnapshotId(id)) {
    throw new VaultOpsError(
      'usage',
      `invalid snapshot id ${JSON.stringify(id)}: expected a form such as 20261127T184600Z-3f9a1c`,
    );
  }
}

function requireNamePart(what: string, value: string): void {
  if (typeof value !== 'string' || !NAME_PART_RE.test(value)) {
    throw new VaultOpsError(
      'usage',
      `invalid record ${what} ${JSON.stringify(value)}: use letters, digits, ".", "_" and "-" only`,
    );
  }
}

/** `<prefix>/<id>.snap`, or `<prefix>/<id>.snap.age` when encrypted. */
export function archiveKey(prefix: string, id: string, opts: { encrypted: boolean }): string {
  requireSnapshotId(id);
  return join(prefix, id + (opts.encrypted ? ENCRYPTED_ARCHIVE_SUFFIX : ARCHIVE_SUFFIX));
}

/** `<prefix>/<id>.manifest.json`. */
export function manifestKey(prefix: string, id: string): string {
  requireSnapshotId(id);
  return join(prefix, id + MANIFEST_SUFFIX);
}

/**
 * `<prefix>/<id>.drill-<YYYYMMDDTHHMMSSZ>.json`: the result of one restore drill of a snapshot,
 * beside its manifest so that it is listed, copied and pruned with it. The time is when the drill
 * finished (second precision); the names of one snapshot's drills sort chronologically.
 */
export function drillKey(prefix: string, id: string, time: Date): string {
  requireSnapshotId(id);
  return join(prefix, `${id}${DRILL_INFIX}${formatCompactUtc(time)}.json`);
}

/**
 * `<prefix>/records/<YYYYMMDDTHHMMSSZ>-<kind>-<rotationId>.json`. `kind` and `rotationId` are
 * 1–128 characters of letters, digits, ".", "_" and "-", starting with a letter or digit. The
 * name sorts chronologically; records carry their fields in the JSON body, so the name is not
 * meant to be parsed back.
 */
export function recordKey(prefix: string, time: Date, kind: string, rotationId: string): string {
  requireNamePart('kind', kind);
  requireNamePart('rotation id', rotationId);
  return join(prefix, `${RECORDS_DIR}/${formatCompactUtc(time)}-${kind}-${rotationId}.json`);
}

/** `<prefix>/catalogue-index.json.gz`: the one index object of the store (see catalogue-index.ts). */
export function catalogueIndexKey(prefix: string): string {
  return join(prefix, CATALOGUE_INDEX_NAME);
}

/** The key prefix under which all records are stored, with a trailing slash: `<prefix>/records/`. */
export function recordsPrefix(prefix: string): string {
  return join(prefix, `${RECORDS_DIR}/`);
}

/**
 * What a listed key is. Archives, manifests and drill records count only as direct children of the prefix with
 * a valid snapshot id; records only as direct `.json` children of `<prefix>/records/`.
 */
export function classifyKey(prefix: string, key: string): KeyClass {
  const p = normalizePrefix(prefix);
  let rest: string;
  if (p === '') {
    rest = key;
  } else if (key.startsWith(`${p}/`)) {
    rest = key.slice(p.length + 1);
  } else {
    return { kind: 'other' };
  }

  if (!rest.includes('/')) {
    if (rest === CATALOGUE_INDEX_NAME) return { kind: 'index' };
    const withSuffix = (suffix: string): string | undefined => {
      if (!rest.endsWith(suffix)) return undefined;
      const id = rest.slice(0, -suffix.length);
      return isSnapshotId(id) ? id : undefined;
    };
    let id = withSuffix(ENCRYPTED_ARCHIVE_SUFFIX);
    if (id !== undefined) return { kind: 'archive', id, encrypted: true };
    id = withSuffix(ARCHIVE_SUFFIX);
    if (id !== undefined) return { kind: 'archive', id, encrypted: false };
    id = withSuffix(MANIFEST_SUFFIX);
    if (id !== undefined) return { kind: 'manifest', id };
    const drill = DRILL_NAME_RE.exec(rest);
    if (drill && isSnapshotId(drill[1] as string)) {
      const time = parseCompactUtc(drill[2] as string);
      if (time) return { kind: 'drill', id: drill[1] as string, time };
    }
    return { kind: 'other' };
  }

  const recordsDir = `${RECORDS_DIR}/`;
  if (rest.startsWith(recordsDir)) {
    const name = rest.slice(recordsDir.length);
    if (name.length > '.json'.length && name.endsWith('.json') && !name.includes('/')) {
      return { kind: 'record' };
    }
  }
  return { kind: 'other' };
}
