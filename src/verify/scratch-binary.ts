import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { VaultOpsError } from '../errors.js';
import type { SnapshotManifest } from '../repository/manifest.js';
import { flavourBinary, flavourName, flavourOfVersionOutput, type ServerFlavour } from '../vault/flavour.js';
import { compareVersions, parseVersion } from './version.js';

/** The first executable `name` in the directories of `searchPath`. */
function onPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * The scratch server binary for a snapshot: `--vault-binary` when given, else the flavour's own
 * CLI on PATH (`vault` for a Vault snapshot, `bao` for an OpenBao one); a manifest written before
 * flavours were recorded takes `vault`, then `bao`.
 */
export function resolveScratchBinary(
  explicit: string | undefined,
  manifest: SnapshotManifest,
  searchPath = process.env.PATH ?? '',
): string {
  if (explicit) return explicit;
  const flavour = manifest.cluster.flavour;
  const names = flavour ? [flavourBinary(flavour)] : ['vault', 'bao'];
  for (const name of names) {
    const found = onPath(name, searchPath);
    if (found) return found;
  }
  if (!flavour) {
    throw new VaultOpsError(
      'scratch',
      'no vault or bao binary on PATH for the scratch server: install one or pass --vault-binary',
    );
  }
  const product = flavourName(flavour);
  const install = [product, manifest.cluster.version].filter(Boolean).join(' ');
  throw new VaultOpsError(
    'scratch',
    `no ${names[0]} binary on PATH for the scratch server of ${product} snapshot ${manifest.id}: ` +
      `install ${install} or newer, or pass --vault-binary`,
  );
}

export interface ScratchBinaryIdentity {
  flavour?: ServerFlavour;
  version?: [number, number, number];
}

/**
 * Runs `<binary> version` and refuses, before anything starts, a binary that cannot restore this
 * snapshot: another flavour (a Vault snapshot in OpenBao, or the reverse, drills nothing anybody
 * runs: exit 2) or an older version than the source's.
 */
export async function checkScratchBinary(binary: string, manifest: SnapshotManifest): Promise<ScratchBinaryIdentity> {
  let output: string;
  try {
    output = (
      await execa(binary, ['version'], { timeout: 30_000, extendEnv: false, env: { PATH: process.env.PATH ?? '' } })
    ).stdout;
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new VaultOpsError(
      'scratch',
      `cannot run the scratch server binary ${binary} ` +
        `(${code === 'ENOENT' ? 'not found' : (err as Error).message.split('\n')[0]}): install vault or bao, or pass ` +
        `--vault-binary`,
      { cause: err },
    );
  }
  const flavour = flavourOfVersionOutput(output);
  const source = manifest.cluster.flavour;
  if (source && flavour && flavour !== source) {
    throw new VaultOpsError(
      'config',
      `the scratch binary ${binary} is ${flavourName(flavour)}, but snapshot ${manifest.id} comes from ` +
        `${flavourName(source)}: a drill must restore into the same server; pass --vault-binary with a ` +
        `${flavourBinary(source)} binary`,
    );
  }
  const have = parseVersion(output);
  const need = manifest.cluster.version ? parseVersion(manifest.cluster.version) : undefined;
  if (have && need && compareVersions(have, need) < 0) {
    throw new VaultOpsError(
      'scratch',
      `the scratch binary ${binary} is ${have.join('.')}, older than the snapshot's ` +
        `${source ? flavourName(source) : 'Vault'} ${need.join('.')}: use a binary at least as new (--vault-binary)`,
    );
  }
  return { ...(flavour ? { flavour } : {}), ...(have ? { version: have } : {}) };
}
