/**
 * The Vault objects that hand a job's policy out through the login methods other than Kubernetes
 * (which policies.ts builds as `kubernetesRole`, the chart's method): a JWT role, a certificate
 * role, an LDAP group mapping, a userpass user. Pure text builders, as policies.ts.
 */

export type LoginRoleMethod = 'jwt' | 'cert' | 'ldap' | 'userpass';

export interface LoginRole {
  method: LoginRoleMethod;
  /** `auth/<mount>/` + `role/<name>` (jwt), `certs/<name>`, `groups/<name>` (ldap) or `users/<name>` (userpass) */
  path: string;
  name: string;
  /** The write's parameters; `@FILE` is a value the CLI reads from that file. */
  params: Record<string, string>;
  /** What the operator must know or do besides the write. */
  notes: string[];
}

export interface LoginRoleOptions {
  method: LoginRoleMethod;
  /** Auth mount (default: the method's name). */
  mount?: string | undefined;
  /** jwt: the audience the role accepts (bound_audiences). */
  jwtAudience: string;
  /** jwt: the subject the role accepts (bound_subject), e.g. a CI pipeline's. */
  jwtSubject?: string | undefined;
  /** cert: the PEM file of the CA that signs the clients' certificates. */
  clientCa: string;
  /** userpass: the user to grant the policy to (default vault-ops-<job>). */
  username?: string | undefined;
}

const trimMount = (m: string) => m.replace(/^\/+|\/+$/g, '');

export function loginRole(
  job: string,
  policyName: string,
  ttl: { ttl: string; max: string },
  o: LoginRoleOptions,
): LoginRole {
  const mount = trimMount(o.mount ?? o.method);
  const name = `vault-ops-${job}`;
  const token = { token_policies: policyName, token_ttl: ttl.ttl, token_max_ttl: ttl.max };
  switch (o.method) {
    case 'jwt':
      return {
        method: 'jwt',
        path: `auth/${mount}/role/${name}`,
        name,
        params: {
          role_type: 'jwt',
          user_claim: 'sub',
          bound_audiences: o.jwtAudience,
          ...(o.jwtSubject ? { bound_subject: o.jwtSubject } : {}),
          ...token,
        },
        notes: [
          `log in with --auth-method jwt --auth-role ${name}; the mount needs its keys first ` +
            `(auth/${mount}/config: jwt_validation_pubkeys, jwks_url or oidc_discovery_url)`,
          ...(o.jwtSubject ? [] : ['no --jwt-subject: every JWT of the issuer with this audience gets the policy']),
        ],
      };
    case 'cert':
      return {
        method: 'cert',
        path: `auth/${mount}/certs/${name}`,
        name,
        params: { display_name: name, certificate: `@${o.clientCa}`, allowed_common_names: name, ...token },
        notes: [
          `the client certificate is signed by the CA in ${o.clientCa} and names CN=${name}; log in with ` +
            `--auth-method cert --auth-role ${name} --client-cert FILE --client-key FILE`,
        ],
      };
    case 'ldap':
      return {
        method: 'ldap',
        path: `auth/${mount}/groups/${name}`,
        name,
        params: { policies: policyName },
        notes: [
          `members of the directory group ${name} get the policy (rename the path to an existing group); ` +
            `the mount's directory settings go to auth/${mount}/config`,
        ],
      };
    case 'userpass': {
      const user = o.username ?? name;
      return {
        method: 'userpass',
        path: `auth/${mount}/users/${user}`,
        name: user,
        params: token,
        notes: [
          `a new user needs a password: add password=- to read it from standard input (never on the command line)`,
        ],
      };
    }
  }
}
