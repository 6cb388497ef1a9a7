import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VaultOpsError } from '../errors.js';
import type { StoreOptions } from '../options/store.js';
import { isLoopbackHost } from '../vault/loopback.js';
import type { SnapshotStore } from './snapshot-store.js';

export type StoreLocation = { kind: 's3'; bucket: string; prefix: string } | { kind: 'folder'; dir: string };

/** `s3://bucket/prefix`, `file:///abs/dir`, or a plain path (relative to the current directory). */
export function parseStoreUrl(url: string): StoreLocation {
  if (url.startsWith('s3://')) {
    const rest = url.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new VaultOpsError('usage', `invalid S3 bucket name in ${url}: use s3://bucket/prefix`);
    }
    return { kind: 's3', bucket, prefix };
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
    throw new VaultOpsError('usage', `unsupported store URL ${url}: use s3://bucket/prefix, file:///dir or a path`);
  }
  if (!url) throw new VaultOpsError('usage', 'empty store URL: use s3://bucket/prefix, file:///dir or a path');
  return { kind: 'folder', dir: isAbsolute(url) ? url : resolve(url) };
}

/**
 * The rule Vault addresses follow: plaintext http only to loopback (a literal loopback address or a
 * name resolving only to one) unless --allow-insecure-http. Over http, request signatures can be
 * replayed and every snapshot byte (the encrypted barrier, and the manifest) crosses the network.
 */
async function assertS3TransportAllowed(endpoint: string, allowInsecureHttp: boolean): Promise<void> {
  const url = new URL(endpoint);
  if (url.protocol === 'http:' && !allowInsecureHttp && !(await isLoopbackHost(url.hostname))) {
    throw new VaultOpsError(
      'insecure',
      `refusing plaintext http to the S3 endpoint ${url.host}: it is not a loopback address (nor a name resolving ` +
        `only to one), so snapshots and signed requests would cross the network unencrypted; use https:// or pass ` +
        `--allow-insecure-http`,
    );
  }
}

/**
 * Open the store a URL names. For S3, learns whether the bucket is versioned / object-locked.
 * `env` is the command's environment, and the only one a store reads (the daemon's jobs and the
 * tests each bring their own): the region falls back to its AWS_REGION / AWS_DEFAULT_REGION;
 * credentials are its static keys (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN) when present there, else the AWS default chain (IRSA, profiles, IMDS).
 */
export async function openSnapshotStore(
  url: string,
  s3: Partial<StoreOptions> & { allowInsecureHttp?: boolean; createFolder?: boolean } = {},
  env: NodeJS.ProcessEnv = {},
): Promise<SnapshotStore> {
  const location = parseStoreUrl(url);
  // Each backend is loaded only when a URL names it: the AWS SDK costs a folder store's users
  // ~0.1 s and ~20 MB at start-up.
  if (location.kind === 'folder') {
    const { FolderStore } = await import('./folder-store.js');
    return await FolderStore.open(location.dir, { create: s3.createFolder ?? false });
  }
  if (s3.s3Endpoint) await assertS3TransportAllowed(s3.s3Endpoint, s3.allowInsecureHttp ?? false);
  const region = s3.s3Region || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  const { S3Store } = await import('./s3-store.js');
  const store = new S3Store({
    bucket: location.bucket,
    prefix: location.prefix,
    ...(s3.s3Endpoint ? { endpoint: s3.s3Endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle: s3.s3ForcePathStyle ?? false,
    ...(s3.s3Sse ? { sse: s3.s3Sse } : {}),
    ...(s3.s3KmsKeyId ? { kmsKeyId: s3.s3KmsKeyId } : {}),
    ...(s3.s3StorageClass ? { storageClass: s3.s3StorageClass } : {}),
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
  try {
    await store.probe();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
