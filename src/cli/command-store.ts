import { resolveOptions } from '../config/resolve.js';
import { StoreOptionsSchema, storeOptionSources, type StoreOptions } from '../options/store.js';
import type { KeyObject } from 'node:crypto';
import { readVerifyKey } from '../repository/signature.js';
import { SnapshotRepository } from '../repository/snapshot-repository.js';
import { openSnapshotStore } from '../store/open-store.js';
import type { SnapshotStore } from '../store/snapshot-store.js';
import type { CommandContext } from './context.js';
import { parseStoreTarget, storeEnvironment } from './store-target.js';

/** Variable names (after the store's prefix) whose values are credentials: redacted everywhere. */
const CREDENTIAL_NAME = /SECRET|TOKEN|PASSWORD|CONNECTION_STRING|SAS|_KEY$/;

/**
 * A command's store, as the snapshots in it (the repository over the store): its S3 / Azure / GCS
 * settings, the global --allow-insecure-http (plain-http store endpoints follow the rule Vault
 * addresses do), the command's environment for the credentials, and its secret registry (every
 * credential value the store reads is redacted from logs and errors). `url` may name the store
 * (`NAME=URL`, see store-target.ts): its own `VAULT_OPS_STORE_<NAME>_*` variables then win for it.
 */
export async function openCommandStore(
  ctx: CommandContext,
  url: string,
  options: Partial<StoreOptions> = {},
  /** `write`: the command stores snapshots or records there, and makes a folder that does not exist yet. */
  access: 'read' | 'write' = 'read',
  /** The key this run signs its drill records with (verify). */
  signingKey?: KeyObject,
): Promise<SnapshotRepository> {
  const { target, env, storeOptions } = storeSettings(ctx, url, options);
  // The keys are read before the store is opened: a bad key file is a configuration error, found
  // before any network call.
  const verifyKeys = await Promise.all((storeOptions.verifyKey ?? []).map((path) => readVerifyKey(path)));
  if (verifyKeys.length === 0) warnUnsignedOnce(ctx, target.url);
  const store = await openSnapshotStore(
    target.url,
    {
      ...storeOptions,
      allowInsecureHttp: ctx.options.allowInsecureHttp,
      createFolder: access === 'write',
      registerSecret: (v) => ctx.secrets.add(v),
    },
    env,
  );
  return new SnapshotRepository(store, {
    verifyKeys,
    now: () => new Date(),
    ...(signingKey ? { signingKey } : {}),
  });
}

/**
 * A store opened for an object that is no snapshot (the report's published page): the same
 * settings and credentials as openCommandStore, no catalogue, no keys.
 */
export async function openCommandObjectStore(
  ctx: CommandContext,
  url: string,
  options: Partial<StoreOptions> = {},
): Promise<SnapshotStore> {
  const { target, env, storeOptions } = storeSettings(ctx, url, options);
  return openSnapshotStore(
    target.url,
    {
      ...storeOptions,
      allowInsecureHttp: ctx.options.allowInsecureHttp,
      createFolder: true,
      registerSecret: (v) => ctx.secrets.add(v),
    },
    env,
  );
}

/** A store's settings: the command's, each replaced by the store's own `VAULT_OPS_STORE_<NAME>_*` where set. */
function storeSettings(ctx: CommandContext, url: string, options: Partial<StoreOptions>) {
  const target = parseStoreTarget(url);
  const { env, own } = storeEnvironment(target, ctx.env);
  for (const [k, v] of Object.entries(own)) if (CREDENTIAL_NAME.test(k)) ctx.secrets.add(v);
  let storeOptions: Partial<StoreOptions> = options;
  if (Object.keys(own).length > 0) {
    // The store's own settings replace the command's, key by key; the rest stay the command's.
    const mine = resolveOptions(StoreOptionsSchema, storeOptionSources, { flags: {}, env: own, file: {} });
    storeOptions = { ...options };
    for (const source of storeOptionSources) {
      if (source.env?.some((n) => own[n] !== undefined && own[n] !== ''))
        (storeOptions as Record<string, unknown>)[source.key] = (mine as Record<string, unknown>)[source.key];
    }
  }
  return { target, env, storeOptions };
}

/** One warning per run (said when the command succeeded) that a store's catalogue is taken on trust. */
function warnUnsignedOnce(ctx: CommandContext, url: string): void {
  ctx.warnAfterSuccess(
    'unsigned store: no --verify-key, so anyone who can write to the store can add snapshots and drill records ' +
      'that vault-ops counts (see SECURITY.md)',
    { store: url },
  );
}
