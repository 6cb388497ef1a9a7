import { readOptionFile, readSecretFile } from '../io/option-file.js';
import { VaultOpsError } from '../errors.js';

/** How vault-ops gets its token: given (token), or by logging in to one of these auth methods. */
export type AuthMethod = 'token' | 'kubernetes' | 'approle' | 'jwt' | 'cert' | 'ldap' | 'userpass';
export type LoginMethod = Exclude<AuthMethod, 'token'>;

export interface LoginOptions {
  authMethod: LoginMethod;
  authMount?: string | undefined;
  authRole?: string | undefined;
  jwtFile: string;
  /** jwt: the environment variable holding the JWT (a CI job's ID token), instead of jwtFile. */
  jwtEnv?: string | undefined;
  roleId?: string | undefined;
  secretIdFile?: string | undefined;
  username?: string | undefined;
  authPasswordFile?: string | undefined;
}

export interface LoginDeps {
  /** Register a credential before anything else sees it (logs, errors, output are scrubbed of it). */
  register(value: string): void;
  env: NodeJS.ProcessEnv;
  /**
   * Ask for the password without echoing it (ldap, userpass without --auth-password-file); the CLI
   * passes its terminal's hidden prompt. Absent: no one to ask.
   */
  askPassword?: ((question: string) => Promise<string>) | undefined;
}

/** One login: where to post what, and how the method is named in messages. */
export interface LoginRequest {
  mount: string;
  path: string;
  body: Record<string, string>;
  /** `JWT`, `LDAP`, …: the method as messages name it. */
  what: string;
}

const NAMES: Record<LoginMethod, string> = {
  kubernetes: 'Kubernetes',
  approle: 'AppRole',
  jwt: 'JWT',
  cert: 'Certificate',
  ldap: 'LDAP',
  userpass: 'Userpass',
};

const mountOf = (o: LoginOptions) => (o.authMount ?? o.authMethod).replace(/^\/+|\/+$/g, '');

/**
 * The method's credential source, read when it is asked for each login: files are read again
 * (Kubernetes and CI systems rotate their tokens), a password is asked for once and kept for the
 * re-logins of this run, so that the operator types it once.
 */
export function loginSource(options: LoginOptions, deps: LoginDeps): () => Promise<LoginRequest> {
  const mount = mountOf(options);
  const what = NAMES[options.authMethod];
  let password: Promise<string> | undefined;
  return async () => {
    switch (options.authMethod) {
      case 'kubernetes': {
        const jwt = await readSecretFile(options.jwtFile, 'Kubernetes service-account token', '--jwt-file', (v) =>
          deps.register(v),
        );
        return { mount, path: `auth/${mount}/login`, body: { role: options.authRole ?? '', jwt }, what };
      }
      case 'jwt': {
        const jwt = options.jwtEnv ? jwtFromEnv(options.jwtEnv, deps) : await jwtFromFile(options.jwtFile, deps);
        return { mount, path: `auth/${mount}/login`, body: { role: options.authRole ?? '', jwt }, what };
      }
      case 'approle': {
        const secretId = await readSecretFile(
          options.secretIdFile ?? '',
          'AppRole secret id',
          '--secret-id-file',
          (v) => deps.register(v),
        );
        return {
          mount,
          path: `auth/${mount}/login`,
          body: { role_id: options.roleId ?? '', secret_id: secretId },
          what,
        };
      }
      case 'cert':
        // The certificate itself travels in the TLS handshake (connection.ts); the body only names the role.
        return { mount, path: `auth/${mount}/login`, body: options.authRole ? { name: options.authRole } : {}, what };
      case 'ldap':
      case 'userpass': {
        const username = options.username ?? '';
        password ??= readPassword(options, deps, what);
        return {
          mount,
          path: `auth/${mount}/login/${encodeURIComponent(username)}`,
          body: { password: await password },
          what,
        };
      }
    }
  };
}

function jwtFromEnv(name: string, deps: LoginDeps): string {
  const value = deps.env[name]?.trim();
  if (!value)
    throw new VaultOpsError(
      'config',
      `the environment variable ${name} (--jwt-env) is not set or empty: it must hold the JWT to log in with`,
    );
  deps.register(value);
  return value;
}

async function jwtFromFile(file: string, deps: LoginDeps): Promise<string> {
  return readSecretFile(file, 'JWT', '--jwt-file (or --jwt-env VAR)', (v) => deps.register(v));
}

/** `--auth-password-file`, else a hidden prompt; never argv, never an environment variable. */
async function readPassword(options: LoginOptions, deps: LoginDeps, what: string): Promise<string> {
  if (options.authPasswordFile) {
    const raw = await readOptionFile(options.authPasswordFile, `${what} password`, '--auth-password-file');
    // Only the line break an editor adds goes: a password may begin or end with spaces.
    const value = raw.replace(/\r?\n$/, '');
    deps.register(value);
    if (!value)
      throw new VaultOpsError(
        'config',
        `the password file ${options.authPasswordFile} is empty: check --auth-password-file`,
      );
    return value;
  }
  if (!deps.askPassword)
    throw new VaultOpsError(
      'usage',
      `${what} login needs a password and this run has no terminal to ask on: pass --auth-password-file FILE ` +
        '(a 0600 file holding only the password)',
    );
  const value = await deps.askPassword(`${what} password for ${options.username ?? ''} (not shown): `);
  deps.register(value);
  if (!value) throw new VaultOpsError('usage', `no password typed: ${what} login needs one`);
  return value;
}
