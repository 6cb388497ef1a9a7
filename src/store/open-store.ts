import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSecretFile } from '../io/option-file.js';
import { VaultOpsError } from '../errors.js';
import type { StoreOptions } from '../options/store.js';
import { isLoopbackHost } from '../io/loopback.js';
import type { SnapshotStore } from './snapshot-store.js';

export type StoreLocation =
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'azure'; container: string; prefix: string }
  | { kind: 'gcs'; bucket: string; prefix: string }
  | { kind: 'folder'; dir: string };

const URL_FORMS = 's3://bucket/prefix, az://container/prefix, gs://bucket/prefix, file:///dir or a path';

/** `scheme://bucket/prefix` → bucket and prefix (no trailing slash). */
function bucketAndPrefix(url: string, scheme: string): { bucket: string; prefix: string } {
  const rest = url.slice(scheme.length);
  const slash = rest.indexOf('/');
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  return { bucket, prefix };
}

/**
 * Google's bucket naming rules: 3–63 characters of lowercase letters, digits, `-`, `_` and `.`
 * (up to 222 with dots, each dot-separated part at most 63), starting and ending with a letter or
 * digit, not an IP address, not starting with "goog" nor containing "google".
 */
function isGcsBucketName(name: string): boolean {
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name) || name.length < 3) return false;
  if (name.length > (name.includes('.') ? 222 : 63)) return false;
  if (name.split('.').some((part) => part.length === 0 || part.length > 63)) return false;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return false;
  return !name.startsWith('goog') && !name.includes('google');
}

/**
 * `s3://bucket/prefix`, `az://container/prefix` (the form fsspec and DuckDB use; the account comes
 * from the options or the connection string), `gs://bucket/prefix`, `file:///abs/dir`, or a plain
 * path (relative to the
 * current directory).
 */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('az://')) {
    const rest = url.slice(5);
    const slash = rest.indexOf('/');
    const container = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    // Azure's rule: 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
    if (!/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/.test(container)) {
      throw new VaultOpsError(
        'usage',
        `invalid Azure container name in ${url}: 3-63 lowercase letters, digits and single hyphens; use ` +
          `az://container/prefix`,
      );
    }
    return { kind: 'azure', container, prefix };
  }
  if (url.startsWith('s3://')) {
    const { bucket, prefix } = bucketAndPrefix(url, 's3://');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new VaultOpsError('usage', `invalid S3 bucket name in ${url}: use s3://bucket/prefix`);
    }
    return { kind: 's3', bucket, prefix };
  }
  if (url.startsWith('gs://')) {
    const { bucket, prefix } = bucketAndPrefix(url, 'gs://');
    if (!isGcsBucketName(bucket)) {
      throw new VaultOpsError(
        'usage',
        `invalid GCS bucket name in ${url}: use gs://bucket/prefix (3-63 lowercase letters, digits, -, _ or .)`,
      );
    }
    return { kind: 'gcs', bucket, prefix };
  }
  if (url.startsWith('file://')) {
    let dir: string;
    try {
      dir = fileURLToPath(url);
    } catch {
      throw new VaultOpsError('usage', `invalid file URL ${url}: use file:///absolute/dir or a plain path`);
    }
    return { kind: 'folder', dir };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new VaultOpsError('usage', `unsupported store URL ${url}: use ${URL_FORMS}`);
  }
  if (!url) throw new VaultOpsError('usage', `empty store URL: use ${URL_FORMS}`);
  return { kind: 'folder', dir: isAbsolute(url) ? url : resolve(url) };
}

/**
 * The rule Vault addresses follow, for every store endpoint: plaintext http only to loopback (a
 * literal loopback address or a name resolving only to one) unless --allow-insecure-http. Over
 * http, request signatures can be replayed and every snapshot byte (the encrypted barrier, and the
 * manifest) crosses the network.
 */
async function assertStoreTransportAllowed(endpoint: string, allowInsecureHttp: boolean, what: string): Promise<void> {
  const url = new URL(endpoint);
  if (url.protocol === 'http:' && !allowInsecureHttp && !(await isLoopbackHost(url.hostname))) {
    throw new VaultOpsError(
      'insecure',
      `refusing plaintext http to the ${what} ${url.host}: it is not a loopback address (nor a name resolving ` +
        `only to one), so snapshots and signed requests would cross the network unencrypted; use https:// or pass ` +
        `--allow-insecure-http`,
    );
  }
}

export type OpenStoreOptions = Partial<StoreOptions> & {
  allowInsecureHttp?: boolean;
  /** Told every credential value a backend reads (files, environment), before it is used: redaction. */
  registerSecret?: (value: string) => void;
  /** A writer: a folder that does not exist yet is made with its first object (readers refuse it). */
  createFolder?: boolean;
};

/**
 * Open the store a URL names. For S3 and GCS, learns whether the bucket is versioned / object-locked
 * (GCS: a retention policy, object retention or default holds).
 * `env` is the command's environment, and the only one a store reads (the daemon's jobs and the
 * tests each bring their own): the region falls back to its AWS_REGION / AWS_DEFAULT_REGION;
 * credentials are its static keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN) when present there, else the AWS default chain (IRSA, profiles, IMDS). GCS:
 * the endpoint falls back to its VAULT_OPS_GCS_ENDPOINT / STORAGE_EMULATOR_HOST, the key file to its
 * VAULT_OPS_GCS_CREDENTIALS_FILE / GOOGLE_APPLICATION_CREDENTIALS, else application default
 * credentials (GKE workload identity, the metadata server). Azure: see `openAzure`.
 */
export async function openSnapshotStore(
  url: string,
  options: OpenStoreOptions = {},
  env: NodeJS.ProcessEnv = {},
): Promise<SnapshotStore> {
  const location = parseStoreUrl(url);
  const open = backends[location.kind] as (
    l: StoreLocation,
    o: OpenStoreOptions,
    e: NodeJS.ProcessEnv,
  ) => Promise<SnapshotStore>;
  return open(location, options, env);
}

type Opener<K extends StoreLocation['kind']> = (
  location: Extract<StoreLocation, { kind: K }>,
  options: OpenStoreOptions,
  env: NodeJS.ProcessEnv,
) => Promise<SnapshotStore>;

/**
 * One opener per URL scheme. Each backend's module (and its SDK) is loaded only when a URL names it:
 * the AWS SDK costs a folder store's users ~0.1 s and ~20 MB at start-up.
 */
const backends: { [K in StoreLocation['kind']]: Opener<K> } = {
  folder: async (location, options) => {
    const { FolderStore } = await import('./folder-store.js');
    return await FolderStore.open(location.dir, { create: options.createFolder ?? false });
  },
  s3: openS3,
  azure: openAzure,
  gcs: openGcsStore,
};

/** An s3:// store: the endpoint follows the plaintext-http rule; credentials as openSnapshotStore says. */
async function openS3(
  location: { bucket: string; prefix: string },
  o: OpenStoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<SnapshotStore> {
  if (o.s3Endpoint) await assertStoreTransportAllowed(o.s3Endpoint, o.allowInsecureHttp ?? false, 'S3 endpoint');
  const region = o.s3Region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const { S3Store } = await import('./s3-store.js');
  const store = new S3Store({
    bucket: location.bucket,
    prefix: location.prefix,
    ...(o.s3Endpoint ? { endpoint: o.s3Endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle: o.s3ForcePathStyle ?? false,
    ...(o.s3Sse ? { sse: o.s3Sse } : {}),
    ...(o.s3KmsKeyId ? { kmsKeyId: o.s3KmsKeyId } : {}),
    ...(o.s3StorageClass ? { storageClass: o.s3StorageClass } : {}),
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  });
  return await probed(store);
}

/**
 * An az:// store. Credentials: the --azure-*-file options first, then the SDK's standard variables
 * in `env` (AZURE_STORAGE_CONNECTION_STRING; AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN with the
 * account), else the default chain of @azure/identity. Secrets come from files or the environment
 * only, never argv. The endpoint (the connection string's, --azure-endpoint, or
 * https://ACCOUNT.blob.core.windows.net) follows the plaintext-http rule S3 endpoints do, checked
 * before any request.
 */
async function openAzure(
  location: { container: string; prefix: string },
  o: OpenStoreOptions,
  env: NodeJS.ProcessEnv,
): Promise<SnapshotStore> {
  const register = o.registerSecret ?? (() => undefined);
  const file = (path: string | undefined, what: string, flag: string) =>
    path ? readSecretFile(path, what, flag, register) : undefined;
  const fromFiles = {
    connectionString: await file(
      o.azureConnectionStringFile,
      'Azure connection string',
      '--azure-connection-string-file',
    ),
    accountKey: await file(o.azureKeyFile, 'Azure account key', '--azure-key-file'),
    sas: await file(o.azureSasFile, 'Azure SAS', '--azure-sas-file'),
  };
  const anyFile = Object.values(fromFiles).some(Boolean);
  const credentials = anyFile
    ? fromFiles
    : {
        connectionString: env.AZURE_STORAGE_CONNECTION_STRING || undefined,
        accountKey: env.AZURE_STORAGE_KEY || undefined,
        sas: env.AZURE_STORAGE_SAS_TOKEN || undefined,
      };
  const [{ AzureStore }, { azureServiceClient }] = await Promise.all([
    import('./azure-store.js'),
    import('./azure-client.js'),
  ]);
  const service = await azureServiceClient(
    {
      ...(o.azureAccount ? { account: o.azureAccount } : {}),
      ...(o.azureEndpoint ? { endpoint: o.azureEndpoint } : {}),
      ...Object.fromEntries(Object.entries(credentials).filter(([, v]) => v)),
    },
    register,
  );
  await assertStoreTransportAllowed(service.url, o.allowInsecureHttp ?? false, 'Azure Blob endpoint');
  const store = new AzureStore({ container: location.container, prefix: location.prefix, service });
  return await probed(store);
}

async function openGcsStore(
  location: { bucket: string; prefix: string },
  options: Partial<StoreOptions> & { allowInsecureHttp?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<SnapshotStore> {
  const raw = options.gcsEndpoint || env.VAULT_OPS_GCS_ENDPOINT || env.STORAGE_EMULATOR_HOST;
  let endpoint: string | undefined;
  if (raw) {
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      /* reported below */
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new VaultOpsError('usage', `invalid GCS endpoint ${raw}: use http(s)://host:port`);
    }
    // The SDK wants the API root; an emulator address is sometimes given with the JSON API path.
    endpoint = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/storage\/v1$/, '')}`;
    await assertStoreTransportAllowed(endpoint, options.allowInsecureHttp ?? false, 'GCS endpoint');
  }
  const credentialsFile =
    options.gcsCredentialsFile || env.VAULT_OPS_GCS_CREDENTIALS_FILE || env.GOOGLE_APPLICATION_CREDENTIALS;
  if (credentialsFile) {
    try {
      await access(credentialsFile, constants.R_OK);
    } catch {
      throw new VaultOpsError(
        'config',
        `cannot read the GCS credentials file ${credentialsFile} (--gcs-credentials-file, ` +
          `GOOGLE_APPLICATION_CREDENTIALS): check the path and its permissions`,
      );
    }
  }
  // Loaded only for gs:// URLs: the Google SDK costs every other store's users start-up time.
  const { GcsStore } = await import('./gcs-store.js');
  const store = new GcsStore({
    bucket: location.bucket,
    prefix: location.prefix,
    ...(endpoint ? { endpoint } : {}),
    ...(credentialsFile ? { credentialsFile } : {}),
  });
  return await probed(store);
}

/** The store once its probe has passed (it learns versioning and locks there); closed when it fails. */
async function probed<T extends { probe(): Promise<unknown>; close(): Promise<void> }>(store: T): Promise<T> {
  try {
    await store.probe();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
