import type { SnapshotManifest } from '../repository/manifest.js';
import type { VaultClient } from '../vault/client.js';
import { listRawPolicies, readRawKvV1, readRawMountTable } from './raw-storage.js';
import type { DrillCheck } from './drill.js';

/**
 * What a drill checks in the restored copy against the snapshot's manifest: mounts, auth methods and
 * policies (recovery mode, read through sys/raw), or those plus named secrets (unsealed mode), and the
 * canary the snapshot job wrote.
 */

function setCheck(name: string, expected: string[], actual: string[], leftOut: string[] = []): DrillCheck {
  const missing = expected.filter((x) => !actual.includes(x));
  const extra = actual.filter((x) => !expected.includes(x));
  const passed = missing.length === 0 && extra.length === 0;
  // Say what was not compared, so that "2 match" beside a manifest listing 3 adds up.
  const notCompared = leftOut.length ? ` (built-in ${leftOut.join(', ')} not compared)` : '';
  return {
    name,
    passed,
    detail: passed
      ? `${expected.length} match the manifest${notCompared}`
      : [
          missing.length ? `missing: ${missing.join(', ')}` : '',
          extra.length ? `not in the manifest: ${extra.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
  };
}

const mountKey = (m: { path: string; type: string }) => `${m.path}(${m.type})`;
/** Built-in policies that the API lists or storage holds but the other does not. */
const builtinPolicies = new Set(['root', 'response-wrapping', 'control-group']);

/** The ACL policies the manifest lists against the copy's; the built-in ones are left out of the comparison. */
function policiesCheck(manifest: SnapshotManifest, policies: string[]): DrillCheck {
  return setCheck(
    'policies',
    manifest.policies.filter((p) => !builtinPolicies.has(p)),
    policies.filter((p) => !builtinPolicies.has(p)),
    manifest.policies.filter((p) => builtinPolicies.has(p)),
  );
}

export async function recoveryChecks(raw: VaultClient, manifest: SnapshotManifest): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  const mounts = await readRawMountTable(raw, 'mounts');
  checks.push(setCheck('mounts', manifest.mounts.map(mountKey), mounts.map(mountKey)));
  const auth = await readRawMountTable(raw, 'auth');
  checks.push(setCheck('auth-methods', manifest.authMethods.map(mountKey), auth.map(mountKey)));
  const policies = await listRawPolicies(raw);
  checks.push(policiesCheck(manifest, policies));
  if (manifest.canary) {
    const mount = mounts.find((m) => m.path === `${manifest.canary!.mount}/`);
    const value = mount ? await readRawKvV1(raw, mount.uuid, manifest.canary.path) : undefined;
    checks.push(canaryCheck(manifest, value?.nonce));
  }
  return checks;
}

export async function unsealedChecks(
  api: VaultClient,
  manifest: SnapshotManifest,
  secrets: string[],
): Promise<DrillCheck[]> {
  const checks: DrillCheck[] = [];
  const mounts =
    (await api.read<{ data?: Record<string, { type: string; options?: { version?: string } | null }> }>('sys/mounts'))
      .data ?? {};
  checks.push(
    setCheck(
      'mounts',
      manifest.mounts.map(mountKey),
      Object.entries(mounts).map(([path, m]) => mountKey({ path, type: m.type })),
    ),
  );
  const auth = (await api.read<{ data?: Record<string, { type: string }> }>('sys/auth')).data ?? {};
  checks.push(
    setCheck(
      'auth-methods',
      manifest.authMethods.map(mountKey),
      Object.entries(auth).map(([path, m]) => mountKey({ path, type: m.type })),
    ),
  );
  const policies = (await api.list<{ data?: { keys?: string[] } }>('sys/policies/acl')).data?.keys ?? [];
  checks.push(policiesCheck(manifest, policies));
  if (manifest.canary) {
    const value = await api
      .read<{ data?: { nonce?: string } }>(`${manifest.canary.mount}/${manifest.canary.path}`)
      .catch(() => undefined);
    checks.push(canaryCheck(manifest, value?.data?.nonce));
  }
  for (const spec of secrets) {
    const slash = spec.indexOf('/');
    const mount = spec.slice(0, slash);
    const path = spec.slice(slash + 1);
    const kv2 = mounts[`${mount}/`]?.options?.version === '2';
    try {
      await api.read(kv2 ? `${mount}/data/${path}` : `${mount}/${path}`);
      checks.push({ name: `secret ${spec}`, passed: true, detail: 'readable with the verify token' });
    } catch (err) {
      checks.push({ name: `secret ${spec}`, passed: false, detail: (err as Error).message });
    }
  }
  return checks;
}

export function canaryCheck(manifest: SnapshotManifest, nonce: unknown): DrillCheck {
  const expected = manifest.canary!.nonce;
  if (nonce === expected)
    return {
      name: 'canary',
      passed: true,
      detail: `${manifest.canary!.mount}/${manifest.canary!.path} holds the nonce written just before the snapshot`,
    };
  return {
    name: 'canary',
    passed: false,
    detail:
      nonce === undefined
        ? `${manifest.canary!.mount}/${manifest.canary!.path} is missing from the restored data`
        : `${manifest.canary!.mount}/${manifest.canary!.path} holds another nonce: the archive is not the snapshot ` +
          `this manifest describes`,
  };
}
