import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { VaultOpsError } from '../errors.js';

/**
 * The one place an Azure credential turns into a client. In order: a connection string, an
 * account key, a SAS (each from its file, else from the SDK's standard environment variable),
 * else `@azure/identity`'s default chain (workload identity on AKS, managed identity, az login),
 * loaded only then. Every secret value is handed to `registerSecret` before any request, so
 * that logs and error messages never show it.
 */
export interface AzureCredentialInput {
  account?: string;
  endpoint?: string;
  connectionString?: string;
  accountKey?: string;
  sas?: string;
}

export async function azureServiceClient(
  input: AzureCredentialInput,
  registerSecret: (value: string) => void,
): Promise<BlobServiceClient> {
  if (input.connectionString) {
    for (const part of input.connectionString.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && /^(AccountKey|SharedAccessSignature)$/i.test(part.slice(0, eq).trim()))
        registerSas(part.slice(eq + 1).trim(), registerSecret);
    }
    registerSecret(input.connectionString);
    try {
      return BlobServiceClient.fromConnectionString(input.connectionString);
    } catch {
      // The SDK's message quotes the string: say what is wrong without it.
      throw new VaultOpsError(
        'config',
        'the Azure connection string is not valid: expected AccountName=…;AccountKey=…;(BlobEndpoint=…|' +
          'EndpointSuffix=…), or BlobEndpoint=…;SharedAccessSignature=…',
      );
    }
  }
  const endpoint = input.endpoint ?? (input.account ? `https://${input.account}.blob.core.windows.net` : undefined);
  if (!endpoint) {
    throw new VaultOpsError(
      'config',
      'no Azure storage account for the az:// store: set --azure-account (AZURE_STORAGE_ACCOUNT), --azure-endpoint, ' +
        'or a connection string',
    );
  }
  if (input.accountKey) {
    registerSecret(input.accountKey);
    const account = input.account ?? accountFromEndpoint(endpoint);
    if (!account) {
      throw new VaultOpsError(
        'config',
        'an Azure account key needs the account name: set --azure-account (AZURE_STORAGE_ACCOUNT)',
      );
    }
    return new BlobServiceClient(endpoint, new StorageSharedKeyCredential(account, input.accountKey));
  }
  if (input.sas) {
    const sas = input.sas.replace(/^\?/, '');
    registerSas(sas, registerSecret);
    const url = new URL(endpoint);
    url.search = sas;
    return new BlobServiceClient(url.toString());
  }
  const { DefaultAzureCredential } = await import('@azure/identity');
  return new BlobServiceClient(endpoint, new DefaultAzureCredential());
}

/** A SAS (or a key): the whole value and its signature, in the forms it may appear (raw, URL-encoded). */
function registerSas(value: string, registerSecret: (value: string) => void): void {
  registerSecret(value);
  const sig = new URLSearchParams(value.replace(/^\?/, '')).get('sig');
  if (sig) {
    registerSecret(sig);
    registerSecret(encodeURIComponent(sig));
  }
}

/** `https://ACCOUNT.blob.…` or the emulator's `http://127.0.0.1:PORT/ACCOUNT`. */
function accountFromEndpoint(endpoint: string): string | undefined {
  const url = new URL(endpoint);
  const host = /^([a-z0-9]{3,24})\.blob\./.exec(url.hostname)?.[1];
  return host ?? url.pathname.split('/').filter(Boolean)[0];
}
