import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

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
    help: 'token | kubernetes | approle (default token)',
    env: ['VAULT_OPS_AUTH_METHOD'],
    type: z.enum(['token', 'kubernetes', 'approle']).default('token'),
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
    help: 'auth method mount path (default: the method name)',
    env: ['VAULT_OPS_AUTH_MOUNT'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'authRole',
    flag: '--auth-role <role>',
    help: 'role for kubernetes login',
    env: ['VAULT_OPS_AUTH_ROLE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'jwtFile',
    flag: '--jwt-file <file>',
    help: 'service-account JWT for kubernetes login',
    env: ['VAULT_OPS_JWT_FILE'],
    type: z.string().min(1).default(defaultJwtFile),
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
    if (o.authMethod === 'kubernetes' && !o.authRole) {
      ctx.addIssue({
        code: 'custom',
        path: ['authRole'],
        message: 'required with --auth-method kubernetes (the Vault role to log in as)',
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
