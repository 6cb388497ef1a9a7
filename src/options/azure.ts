import { z } from 'zod';
import { schemaOf, sourcesOf, type OptionSpec } from './option-table.js';

/**
 * Azure Blob settings shared by every command that opens a store (flags, env, config file).
 * Credentials come as FILES only (or the SDK's standard environment variables, read by the
 * store itself): an account key, SAS or connection string in argv would be visible to every
 * local user in the process list.
 */
export const azureOptions = [
  {
    key: 'azureAccount',
    flag: '--azure-account <name>',
    help: 'Azure storage account of az:// stores (AZURE_STORAGE_ACCOUNT)',
    env: ['AZURE_STORAGE_ACCOUNT'],
    type: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, 'an Azure storage account name: 3-24 lowercase letters and digits')
      .optional(),
  },
  {
    key: 'azureEndpoint',
    flag: '--azure-endpoint <url>',
    help: 'Azure Blob service URL (VAULT_OPS_AZURE_ENDPOINT; default https://ACCOUNT.blob.core.windows.net)',
    env: ['VAULT_OPS_AZURE_ENDPOINT'],
    type: z.url().optional(),
  },
  {
    key: 'azureKeyFile',
    flag: '--azure-key-file <file>',
    help: 'file holding the storage account key (VAULT_OPS_AZURE_KEY_FILE)',
    env: ['VAULT_OPS_AZURE_KEY_FILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'azureSasFile',
    flag: '--azure-sas-file <file>',
    help: 'file holding a SAS token (VAULT_OPS_AZURE_SAS_FILE)',
    env: ['VAULT_OPS_AZURE_SAS_FILE'],
    type: z.string().min(1).optional(),
  },
  {
    key: 'azureConnectionStringFile',
    flag: '--azure-connection-string-file <file>',
    help: 'file holding a storage connection string (VAULT_OPS_AZURE_CONNECTION_STRING_FILE)',
    env: ['VAULT_OPS_AZURE_CONNECTION_STRING_FILE'],
    type: z.string().min(1).optional(),
  },
] as const satisfies readonly OptionSpec[];

export const AzureOptionsSchema = schemaOf(azureOptions).superRefine((o, ctx) => {
  const given = (['azureKeyFile', 'azureSasFile', 'azureConnectionStringFile'] as const).filter((k) => o[k]);
  if (given.length > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [given[1]!],
      message: 'give one of --azure-key-file, --azure-sas-file and --azure-connection-string-file',
    });
  }
});
export type AzureOptions = z.output<typeof AzureOptionsSchema>;

export const azureOptionSources = sourcesOf(azureOptions);
