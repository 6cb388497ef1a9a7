import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

/** How vault-ops logs in (vault/auth.ts): a token given, or a login to one of these auth methods. */
export const AUTH_METHODS = ['token', 'kubernetes', 'approle', 'jwt', 'cert', 'ldap', 'userpass'] as const;

export const defaultJwtFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options every command shares: how to reach and authenticate to Vault, and how to talk to the user. */
export const globalOptions = [
  {
    key: 'vaultAddr',
    example: 'https://vault.example.com:8200',
    flag: '--vault-addr <url>',
    help: 'Vault address (VAULT_ADDR, BAO_ADDR)',
    env: ['VAULT_ADDR', 'BAO_ADDR'],
    type: z.url({ message: 'must be a URL such as https://vault.example:8200' }).default('https://127.0.0.1:8200'),
  },
  {
    key: 'namespace',
    flag: '--namespace <ns>',
    help: 'Vault namespace (VAULT_NAMESPACE)',
    env: ['VAULT_NAMESPACE', 'BAO_NAMESPACE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'caCert',
    flag: '--ca-cert <file>',
    help: 'PEM CA bundle to trust (VAULT_CACERT)',
    env: ['VAULT_CACERT', 'BAO_CACERT'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'tlsServerName',
    flag: '--tls-server-name <name>',
    help: 'expected server certificate name (VAULT_TLS_SERVER_NAME)',
    env: ['VAULT_TLS_SERVER_NAME', 'BAO_TLS_SERVER_NAME'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'allowInsecureHttp',
    flag: '--allow-insecure-http',
    help: 'allow plaintext http to a non-loopback address',
    env: ['VAULT_OPS_ALLOW_INSECURE_HTTP'],
    type: z.boolean().default(false),
  },
  {
    key: 'authMethod',
    flag: '--auth-method <method>',
    help: 'token | kubernetes | approle | jwt | cert | ldap | userpass (default token)',
    env: ['VAULT_OPS_AUTH_METHOD'],
    type: z.enum(AUTH_METHODS).default('token'),
  },
  {
    key: 'token',
    flag: '--token <token>',
    help: 'Vault token; prefer VAULT_TOKEN: argv is visible to other users',
    env: ['VAULT_TOKEN', 'BAO_TOKEN'],
    type: z.string().min(1).optional(),
    secret: true,
  },
  {
    key: 'authMount',
    flag: '--auth-mount <path>',
    help: 'auth method mount path (default: the method name: kubernetes, approle, jwt, cert, ldap, userpass)',
    env: ['VAULT_OPS_AUTH_MOUNT'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'authRole',
    flag: '--auth-role <role>',
    help: 'role for kubernetes and jwt login (required), and cert login (optional: the certificate role)',
    env: ['VAULT_OPS_AUTH_ROLE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'jwtFile',
    flag: '--jwt-file <file>',
    help: "file holding the JWT for kubernetes and jwt login (default: the pod's service-account token)",
    env: ['VAULT_OPS_JWT_FILE'],
    type: z.string().min(1).default(defaultJwtFile),
  },
  {
    key: 'jwtEnv',
    flag: '--jwt-env <var>',
    help: "jwt login: the environment variable holding the JWT (a CI job's ID token), instead of --jwt-file",
    env: ['VAULT_OPS_JWT_ENV'],
    type: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'an environment variable name, e.g. CI_JOB_JWT' })
      .optional(),
  },
  {
    key: 'clientCert',
    flag: '--client-cert <file>',
    help: 'PEM client certificate sent with every request: cert login, listeners that require one (VAULT_CLIENT_CERT)',
    env: ['VAULT_CLIENT_CERT', 'BAO_CLIENT_CERT'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'clientKey',
    flag: '--client-key <file>',
    help: 'PEM private key of --client-cert (VAULT_CLIENT_KEY)',
    env: ['VAULT_CLIENT_KEY', 'BAO_CLIENT_KEY'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'username',
    flag: '--username <name>',
    help: 'ldap and userpass login: the user name',
    env: ['VAULT_OPS_USERNAME'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'authPasswordFile',
    flag: '--auth-password-file <file>',
    help: 'ldap and userpass login: file holding the password (otherwise a hidden prompt on a terminal; never argv)',
    env: ['VAULT_OPS_AUTH_PASSWORD_FILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'roleId',
    flag: '--role-id <id>',
    help: 'AppRole role id',
    env: ['VAULT_OPS_ROLE_ID'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'secretIdFile',
    flag: '--secret-id-file <file>',
    help: 'file holding the AppRole secret id',
    env: ['VAULT_OPS_SECRET_ID_FILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'requestTimeoutSeconds',
    flag: '--request-timeout-seconds <n>',
    help: 'timeout of one Vault API request (default 30)',
    env: ['VAULT_OPS_REQUEST_TIMEOUT_SECONDS'],
    parse: 'number',
    type: z.number().positive().max(3600).default(30),
  },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    help: 'trace|debug|info|warn|error|silent (default info)',
    env: ['VAULT_OPS_LOG_LEVEL'],
    type: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  },
  {
    key: 'output',
    flag: '--output <format>',
    help: 'text | json (default text)',
    env: ['VAULT_OPS_OUTPUT'],
    type: z.enum(['text', 'json']).default('text'),
  },
] as const satisfies readonly OptionSpec[];

/**
 * `--config FILE` (or VAULT_OPS_CONFIG): where the other options' file values come from, so it is
 * read before them and is not one of them.
 */
export const configFileOption = {
  key: 'config',
  flag: '--config <file>',
  help: 'YAML file of options (camelCase flag names); flags > env > file > defaults',
  env: ['VAULT_OPS_CONFIG'],
  type: z.string().min(1).optional(),
  from: 'command-line',
} as const satisfies OptionSpec;

export const GlobalOptionsSchema = schemaOf(globalOptions).superRefine(
  (o, ctx) => {
    if ((o.authMethod === 'kubernetes' || o.authMethod === 'jwt') && !o.authRole) {
      ctx.addIssue({
        code: 'custom',
        path: ['authRole'],
        message: `required with --auth-method ${o.authMethod} (the Vault role to log in as)`,
      });
    }
    if (o.jwtEnv && o.authMethod !== 'jwt') {
      ctx.addIssue({ code: 'custom', path: ['jwtEnv'], message: 'only with --auth-method jwt' });
    }
    if ((o.clientCert === undefined) !== (o.clientKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [o.clientCert ? 'clientKey' : 'clientCert'],
        message: '--client-cert and --client-key go together',
      });
    } else if (o.authMethod === 'cert' && !o.clientCert) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientCert'],
        message: 'required with --auth-method cert: --client-cert FILE and --client-key FILE',
      });
    }
    if ((o.authMethod === 'ldap' || o.authMethod === 'userpass') && !o.username) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: `required with --auth-method ${o.authMethod}` });
    }
    if (o.authPasswordFile && o.authMethod !== 'ldap' && o.authMethod !== 'userpass') {
      ctx.addIssue({
        code: 'custom',
        path: ['authPasswordFile'],
        message: 'only with --auth-method ldap|userpass',
      });
    }
    if (o.authMethod === 'approle') {
      if (!o.roleId) ctx.addIssue({ code: 'custom', path: ['roleId'], message: 'required with --auth-method approle' });
      if (!o.secretIdFile) {
        ctx.addIssue({
          code: 'custom',
          path: ['secretIdFile'],
          message: 'required with --auth-method approle (a file holding the secret id)',
        });
      }
    }
  },
  {
    // Run even when other fields failed, so that one run reports every problem at once.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  },
);

export type GlobalOptions = z.output<typeof GlobalOptionsSchema>;

export const globalOptionSources = sourcesOf(globalOptions);
