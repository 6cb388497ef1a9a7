import { z } from 'zod';
import type { OptionSource } from './resolve.js';

export const defaultJwtFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Options every command shares: how to reach and authenticate to Vault, and how to talk to the user. */
export const GlobalOptionsSchema = z
  .object({
    vaultAddr: z.url({ message: 'must be a URL such as https://vault.example:8200' }).default('https://127.0.0.1:8200'),
    namespace: z.string().min(1).optional(),
    caCert: z.string().min(1).optional(),
    tlsServerName: z.string().min(1).optional(),
    allowInsecureHttp: z.boolean().default(false),
    authMethod: z.enum(['token', 'kubernetes', 'approle']).default('token'),
    token: z.string().min(1).optional(),
    authMount: z.string().min(1).optional(),
    authRole: z.string().min(1).optional(),
    jwtFile: z.string().min(1).default('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    roleId: z.string().min(1).optional(),
    secretIdFile: z.string().min(1).optional(),
    requestTimeoutSeconds: z.number().positive().max(3600).default(30),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    output: z.enum(['text', 'json']).default('text'),
  })
  .superRefine((o, ctx) => {
    if (o.authMethod === 'kubernetes' && !o.authRole) {
      ctx.addIssue({ code: 'custom', path: ['authRole'], message: 'required with --auth-method kubernetes (the Vault role to log in as)' });
    }
    if (o.authMethod === 'approle') {
      if (!o.roleId) ctx.addIssue({ code: 'custom', path: ['roleId'], message: 'required with --auth-method approle' });
      if (!o.secretIdFile) ctx.addIssue({ code: 'custom', path: ['secretIdFile'], message: 'required with --auth-method approle (a file holding the secret id)' });
    }
  }, {
    // Run even when other fields failed, so that one run reports every problem at once.
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  });

export type GlobalOptions = z.output<typeof GlobalOptionsSchema>;

export const globalOptionSources: readonly OptionSource[] = [
  { key: 'vaultAddr', env: ['VAULT_ADDR', 'BAO_ADDR'] },
  { key: 'namespace', env: ['VAULT_NAMESPACE', 'BAO_NAMESPACE'] },
  { key: 'caCert', env: ['VAULT_CACERT', 'BAO_CACERT'] },
  { key: 'tlsServerName', env: ['VAULT_TLS_SERVER_NAME', 'BAO_TLS_SERVER_NAME'] },
  { key: 'allowInsecureHttp', env: ['VAULT_OPS_ALLOW_INSECURE_HTTP'], fromEnv: 'boolean' },
  { key: 'authMethod', env: ['VAULT_OPS_AUTH_METHOD'] },
  { key: 'token', env: ['VAULT_TOKEN', 'BAO_TOKEN'] },
  { key: 'authMount', env: ['VAULT_OPS_AUTH_MOUNT'] },
  { key: 'authRole', env: ['VAULT_OPS_AUTH_ROLE'] },
  { key: 'jwtFile', env: ['VAULT_OPS_JWT_FILE'] },
  { key: 'roleId', env: ['VAULT_OPS_ROLE_ID'] },
  { key: 'secretIdFile', env: ['VAULT_OPS_SECRET_ID_FILE'] },
  { key: 'requestTimeoutSeconds', env: ['VAULT_OPS_REQUEST_TIMEOUT_SECONDS'], fromEnv: 'number' },
  { key: 'logLevel', env: ['VAULT_OPS_LOG_LEVEL'] },
  { key: 'output', env: ['VAULT_OPS_OUTPUT'] },
];
