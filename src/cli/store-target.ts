import { VaultOpsError } from '../errors.js';

/**
 * A store as a command names it: a URL, optionally with a name (`dr=s3://bucket-dr/vault`). A
 * named store reads its own settings and credentials from the environment variables prefixed
 * `VAULT_OPS_STORE_<NAME>_` (`VAULT_OPS_STORE_DR_AWS_ACCESS_KEY_ID`, `..._AWS_REGION`,
 * `..._VAULT_OPS_S3_ENDPOINT`…), which replace the unprefixed ones for that store only: one run
 * can write to stores in two accounts or regions. (Kubernetes' `envFrom.prefix` maps a Secret's
 * plain keys to these names, which is how the chart gives each store its credentials.)
 */
export interface StoreTarget {
  name?: string;
  url: string;
}

const NAMED = /^([a-z][a-z0-9-]{0,30})=(.+)$/;

export function parseStoreTarget(text: string): StoreTarget {
  const m = NAMED.exec(text);
  if (!m) return { url: text };
  return { name: m[1]!, url: m[2]! };
}

/** `dr-eu` → `VAULT_OPS_STORE_DR_EU_`. */
export function storeEnvPrefix(name: string): string {
  return `VAULT_OPS_STORE_${name.toUpperCase().replace(/-/g, '_')}_`;
}

/**
 * The environment a named store sees: the command's, with each `VAULT_OPS_STORE_<NAME>_X`
 * replacing `X`. Also returns the overlay alone (which settings the store names itself).
 */
export function storeEnvironment(
  target: StoreTarget,
  env: NodeJS.ProcessEnv,
): { env: NodeJS.ProcessEnv; own: Record<string, string> } {
  if (!target.name) return { env, own: {} };
  const prefix = storeEnvPrefix(target.name);
  const own: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith(prefix) && k.length > prefix.length && v !== undefined) own[k.slice(prefix.length)] = v;
  }
  return { env: { ...env, ...own }, own };
}

/** Store names must differ in a run: their variables would be the same. */
export function checkStoreNames(targets: readonly StoreTarget[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    if (!t.name) continue;
    const prefix = storeEnvPrefix(t.name);
    if (seen.has(prefix)) {
      throw new VaultOpsError('usage', `two stores are named ${t.name}: give each store its own name`);
    }
    seen.add(prefix);
  }
}
