import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  ListBucketsCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Agent as HttpsAgent } from 'node:https';
import { findBinary } from './cached-binary.js';
import { makeTestCertificates, type TestCertificates } from './tls.js';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';

/** Keep in step with test/testbed/build.sh. */
export const VERSITYGW_VERSION = '1.7.0';

export interface CreateBucketOptions {
  /** PutBucketVersioning Enabled after creation. */
  versioning?: boolean;
  /** CreateBucket with ObjectLockEnabledForBucket (versitygw then turns versioning on as well). */
  objectLock?: boolean;
}

export interface S3Testbed {
  /** http://127.0.0.1:PORT (or the host asked for) */
  endpoint: string;
  region: 'us-east-1';
  accessKeyId: string;
  secretAccessKey: string;
  binary: string;
  version: string;
  /** The throw-away CA and certificate when started with `tls`. */
  tls?: TestCertificates;
  /** Directory of the running gateway (removed by stop()). */
  dir: string;
  process: ServerProcess;
  /** A new path-style client with the root credentials; destroyed on stop(). */
  client(): S3Client;
  /** The environment the CLI needs to use this gateway: root credentials, region, endpoint, path style. */
  cliEnv(): Record<string, string>;
  createBucket(name: string, options?: CreateBucketOptions): Promise<void>;
  /**
   * Let the root user delete/shorten GOVERNANCE-retained versions with BypassGovernanceRetention.
   * versitygw 1.7.0 honours the bypass header only when the bucket policy grants
   * s3:BypassGovernanceRetention to the caller, root included (AWS lets root bypass without one);
   * without such a policy every bypass request is refused with AccessDenied.
   */
  allowGovernanceBypass(bucket: string): Promise<void>;
  /** All keys (current versions) in `bucket`, optionally under `prefix`, in listing order. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The versitygw binary: VAULT_OPS_VERSITYGW_BINARY, else the cached build, else `versitygw` on
 * PATH. Throws (never skips) when there is none.
 */
export function versitygwBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_VERSITYGW_BINARY',
    cacheDir: `versitygw-${VERSITYGW_VERSION}`,
    file: 'versitygw',
    pathNames: ['versitygw'],
    buildTarget: 'versitygw',
  });
}

/**
 * `versitygw --version`. A `go install` build reports "Version git, Build norev" (no ldflags), so
 * the module version is taken from the Go build info embedded in the binary when it is there.
 */
export async function versitygwVersion(binary: string): Promise<string> {
  const out = execFileSync(binary, ['--version'], { encoding: 'utf8' });
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(out)?.[1]?.trim();
  const reported = field('Version');
  const build = field('Build');
  const raw = reported
    ? `Version ${reported}${build ? `, Build ${build}` : ''}`
    : (out.trim().split('\n')[0] ?? 'unknown');
  if (reported && reported !== 'git' && reported !== 'dev') return reported;
  let moduleVersion: string | undefined;
  try {
    const text = (await readFile(binary)).toString('latin1');
    moduleVersion = /\nmod\tgithub\.com\/versity\/versitygw\t(v[^\t\n]+)/.exec(text)?.[1];
  } catch {
    /* unreadable: fall back to what --version said */
  }
  return moduleVersion ? `${moduleVersion} (go build info; --version says: ${raw})` : raw;
}

const REGION = 'us-east-1' as const;

export interface StartS3Options {
  /** The address to listen on (default 127.0.0.1): the testbed node's bridge gateway for its pods. */
  host?: string;
  /**
   * Serve HTTPS with a throw-away CA (`tls.caFile`; cliEnv() hands it to the CLI as
   * NODE_EXTRA_CA_CERTS): vault-ops refuses plaintext http to an address off loopback.
   */
  tls?: boolean;
}

export async function startS3(options: StartS3Options = {}): Promise<S3Testbed> {
  const host = options.host ?? '127.0.0.1';
  const binary = versitygwBinary();
  const version = await versitygwVersion(binary);
  const accessKeyId = `vo${randomBytes(9).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('base64url');

  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await makeTempDir('versitygw');
    await chmod(dir, 0o700);
    // Sidecar metadata and old versions live beside, never inside, the bucket root.
    const root = join(dir, 'root');
    const meta = join(dir, 'meta');
    const versions = join(dir, 'versions');
    for (const d of [root, meta, versions]) await mkdir(d, { mode: 0o700 });
    const port = await freePort();
    const tls = options.tls ? makeTestCertificates(dir, 's3', [host]) : undefined;
    const endpoint = `${tls ? 'https' : 'http'}://${host}:${port}`;
    const server = await startServerProcess({
      name: 'versitygw',
      command: binary,
      // Global flags (--port) go before the backend subcommand; backend flags after it.
      args: [
        '--port',
        `${host}:${port}`,
        ...(tls ? ['--cert', tls.certFile, '--key', tls.keyFile] : []),
        'posix',
        '--sidecar',
        meta,
        '--versioning-dir',
        versions,
        root,
      ],
      // Credentials through the environment only: never in argv.
      env: { ...process.env, ROOT_ACCESS_KEY: accessKeyId, ROOT_SECRET_KEY: secretAccessKey },
      dir,
    });
    const clients: S3Client[] = [];
    const client = (): S3Client => {
      const c = new S3Client({
        endpoint,
        region: REGION,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        ...(tls ? { requestHandler: { httpsAgent: new HttpsAgent({ ca: tls.caPem }) } } : {}),
      });
      clients.push(c);
      return c;
    };
    const admin = client();
    try {
      await waitUntil(
        `versitygw on ${endpoint}`,
        async () => {
          await admin.send(new ListBucketsCommand({}));
          return true;
        },
        { server, timeoutMs: 30_000 },
      );
    } catch (err) {
      const log = await server.log();
      for (const c of clients) c.destroy();
      await server.stop();
      lastError = err;
      if (/address already in use/i.test(log) && attempt < 3) continue; // lost the port race: retry
      throw err;
    }

    let stopped = false;
    return {
      endpoint,
      region: REGION,
      accessKeyId,
      secretAccessKey,
      binary,
      version,
      dir,
      process: server,
      ...(tls ? { tls } : {}),
      client,
      cliEnv: () => ({
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_REGION: REGION,
        VAULT_OPS_S3_ENDPOINT: endpoint,
        VAULT_OPS_S3_FORCE_PATH_STYLE: 'true',
        ...(tls ? { NODE_EXTRA_CA_CERTS: tls.caFile } : {}),
      }),
      async createBucket(name, options = {}) {
        await admin.send(
          new CreateBucketCommand({
            Bucket: name,
            ...(options.objectLock ? { ObjectLockEnabledForBucket: true } : {}),
          }),
        );
        if (options.versioning) {
          await admin.send(
            new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }),
          );
        }
      },
      async allowGovernanceBypass(bucket) {
        const policy = {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: [accessKeyId] },
              Action: ['s3:BypassGovernanceRetention'],
              Resource: [`arn:aws:s3:::${bucket}/*`],
            },
          ],
        };
        await admin.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
      },
      async listKeys(bucket, prefix) {
        const keys: string[] = [];
        for await (const page of paginateListObjectsV2({ client: admin }, { Bucket: bucket, Prefix: prefix })) {
          for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        }
        return keys;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const c of clients) c.destroy();
        await server.stop();
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error('testbed: versitygw did not start');
}
