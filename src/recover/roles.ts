import { z } from 'zod';
import { VaultOpsError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';
import { type RawMountEntry, rawRead, readRawMountTable } from '../verify/raw-storage.js';

/**
 * Auth roles (kubernetes, approle) and database static roles: JSON in their mount's storage, turned into
 * the body their API endpoint takes. Storage keys and fields as the plugins keep them (read in
 * vault-plugin-auth-kubernetes v0.23 and Vault 1.21 / OpenBao 2.4's approle and database engines):
 * - kubernetes `auth/<uuid>/role/<lowercased name>`, approle `auth/<uuid>/role/<lowercased name>`
 *   (roleStorageEntry; tokenutil's token_* fields with durations in nanoseconds, token_type a number);
 * - database `logical/<uuid>/static-role/<name>` (roleEntry: db_name, statements.rotation,
 *   static_account.username / rotation_period; its password is never read out of the entry).
 */

export type RoleKind = 'kubernetes-role' | 'approle-role' | 'static-role';

/** A role as its API endpoint takes it; never a password (approle's role_id is kept apart). */
export type RoleBody = Record<string, unknown>;

export interface RoleRef {
  kind: RoleKind;
  /** The API path the role is read and written at (`auth/kubernetes/role/payments`, `database/static-roles/app`). */
  apiPath: string;
  /** The storage key in the snapshot (`auth/<uuid>/role/payments`). */
  storageKey: string;
}

const SECONDS = 1e9;
const TOKEN_TYPES = ['default', 'service', 'batch', 'default-service', 'default-batch'];
const ns = z.number().optional();
const strings = z.array(z.string()).nullish();

const TokenFields = z.object({
  token_ttl: ns,
  token_max_ttl: ns,
  token_explicit_max_ttl: ns,
  token_period: ns,
  token_policies: strings,
  token_bound_cidrs: strings,
  token_no_default_policy: z.boolean().optional(),
  token_num_uses: z.number().optional(),
  token_type: z.union([z.number(), z.string()]).optional(),
  // Fields from before tokenutil, which the plugins still read when the token_* ones are empty.
  policies: strings,
  ttl: ns,
  max_ttl: ns,
  period: ns,
  num_uses: z.number().optional(),
});

const KubernetesRole = TokenFields.extend({
  bound_service_account_names: strings,
  bound_service_account_namespaces: strings,
  bound_service_account_namespace_selector: z.string().optional(),
  audience: z.string().optional(),
  alias_name_source: z.string().optional(),
});

const AppRole = TokenFields.extend({
  role_id: z.string().optional(),
  bind_secret_id: z.boolean().optional(),
  secret_id_bound_cidrs: strings,
  secret_id_num_uses: z.number().optional(),
  secret_id_ttl: ns,
});

const StaticRole = z.object({
  db_name: z.string(),
  statements: z.object({ rotation: strings }).partial().optional(),
  static_account: z.object({ username: z.string(), rotation_period: ns }),
});

const secs = (v: number | undefined) => Math.round((v ?? 0) / SECONDS);
const list = (v: string[] | null | undefined) => v ?? [];

function tokenBody(t: z.output<typeof TokenFields>): RoleBody {
  const policies = list(t.token_policies).length ? list(t.token_policies) : list(t.policies);
  const type = typeof t.token_type === 'number' ? TOKEN_TYPES[t.token_type] : t.token_type;
  return {
    token_ttl: secs(t.token_ttl || t.ttl),
    token_max_ttl: secs(t.token_max_ttl || t.max_ttl),
    token_explicit_max_ttl: secs(t.token_explicit_max_ttl),
    token_period: secs(t.token_period || t.period),
    token_policies: policies,
    token_bound_cidrs: list(t.token_bound_cidrs),
    token_no_default_policy: t.token_no_default_policy ?? false,
    token_num_uses: t.token_num_uses || t.num_uses || 0,
    token_type: type || 'default',
  };
}

/** `auth/<mount>/role/<name>` or `<database mount>/static-roles/<name>`; undefined for anything else. */
export async function roleRef(raw: VaultClient, spec: string, mounts: RawMountEntry[]): Promise<RoleRef | undefined> {
  const auth = spec.match(/^auth\/(.+)\/role\/([^/]+)$/);
  if (auth) {
    const table = await readRawMountTable(raw, 'auth');
    const mount = table.find((m) => m.path === `${auth[1]}/`);
    if (!mount) throw new VaultOpsError('not-found', `the snapshot has no auth method at auth/${auth[1]}/`);
    if (mount.type !== 'kubernetes' && mount.type !== 'approle')
      throw new VaultOpsError(
        'usage',
        `auth/${auth[1]}/ is a ${mount.type} auth method: recover restores kubernetes and approle roles`,
      );
    return {
      kind: mount.type === 'kubernetes' ? 'kubernetes-role' : 'approle-role',
      apiPath: spec,
      storageKey: `auth/${mount.uuid}/role/${auth[2]!.toLowerCase()}`,
    };
  }
  const db = spec.match(/^(.+)\/static-roles\/([^/]+)$/);
  const mount = db ? mounts.find((m) => m.path === `${db[1]}/` && m.type === 'database') : undefined;
  if (!db || !mount) return undefined;
  return { kind: 'static-role', apiPath: spec, storageKey: `logical/${mount.uuid}/static-role/${db[2]}` };
}

/**
 * The role's API body from the snapshot, or undefined when the snapshot holds no such role. `roleId`:
 * approle's role id (a credential half, written through its own endpoint so that clients keep theirs).
 */
export async function readRole(
  raw: VaultClient,
  ref: RoleRef,
): Promise<{ body: RoleBody; roleId?: string } | undefined> {
  const value = await rawRead(raw, ref.storageKey);
  if (value === undefined) return undefined;
  const json: unknown = JSON.parse(value);
  const invalid = (e: z.ZodError) =>
    new VaultOpsError(
      'verification',
      `${ref.apiPath} in the snapshot is not a role vault-ops can read ` +
        `(${e.issues.map((i) => i.path.join('.')).join(', ')})`,
    );
  if (ref.kind === 'static-role') {
    const r = StaticRole.safeParse(json);
    if (!r.success) throw invalid(r.error);
    return {
      body: {
        db_name: r.data.db_name,
        username: r.data.static_account.username,
        rotation_period: secs(r.data.static_account.rotation_period),
        rotation_statements: list(r.data.statements?.rotation),
      },
    };
  }
  if (ref.kind === 'kubernetes-role') {
    const r = KubernetesRole.safeParse(json);
    if (!r.success) throw invalid(r.error);
    return {
      body: {
        bound_service_account_names: list(r.data.bound_service_account_names),
        bound_service_account_namespaces: list(r.data.bound_service_account_namespaces),
        ...(r.data.bound_service_account_namespace_selector
          ? { bound_service_account_namespace_selector: r.data.bound_service_account_namespace_selector }
          : {}),
        ...(r.data.audience ? { audience: r.data.audience } : {}),
        ...(r.data.alias_name_source ? { alias_name_source: r.data.alias_name_source } : {}),
        ...tokenBody(r.data),
      },
    };
  }
  const r = AppRole.safeParse(json);
  if (!r.success) throw invalid(r.error);
  return {
    body: {
      bind_secret_id: r.data.bind_secret_id ?? true,
      secret_id_bound_cidrs: list(r.data.secret_id_bound_cidrs),
      secret_id_num_uses: r.data.secret_id_num_uses ?? 0,
      secret_id_ttl: secs(r.data.secret_id_ttl),
      ...tokenBody(r.data),
    },
    ...(r.data.role_id ? { roleId: r.data.role_id } : {}),
  };
}

/** Empty lists, zero, false and '' are what an unset field reads as: equal for the comparison. */
const unset = (v: unknown) =>
  v === undefined || v === null || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0);

/** Which of the body's fields the live role lacks (added) or holds otherwise (changed); names only. */
export function roleChanges(
  body: RoleBody,
  live: RoleBody | undefined,
): { added: string[]; removed: string[]; changed: string[]; unchanged: number } {
  const added: string[] = [];
  const changed: string[] = [];
  let unchanged = 0;
  for (const [k, v] of Object.entries(body)) {
    const l = live?.[k];
    if (live === undefined || (!(k in live) && !unset(v))) added.push(k);
    else if ((unset(v) && unset(l)) || JSON.stringify(v) === JSON.stringify(l)) unchanged++;
    else changed.push(k);
  }
  return { added: added.sort(), removed: [], changed: changed.sort(), unchanged };
}
