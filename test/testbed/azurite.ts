import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  generateAccountSASQueryParameters,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';
import { makeTestCertificates, type TestCertificates } from './tls.js';

export interface AzuriteTestbed {
  /** The Blob service URL, path-style: http(s)://127.0.0.1:PORT/ACCOUNT (or the asked host) */
  endpoint: string;
  /** A random account (AZURITE_ACCOUNTS), so that a test can search output for its key. */
  account: string;
  accountKey: string;
  /** `DefaultEndpointsProtocol=http(s);AccountName=…;AccountKey=…;BlobEndpoint=…;` */
  connectionString: string;
  version: string;
  dir: string;
  process: ServerProcess;
  /** The throw-away CA and certificate when started with `tls`. */
  tls?: TestCertificates;
  /** A client with the account key. */
  client(): BlobServiceClient;
  createContainer(name: string): Promise<void>;
  /** An account SAS for the blob service (read, write, delete, list, create; one hour), without `?`. */
  sas(): string;
  /** Every committed blob in `container`, optionally under `prefix`. */
  listKeys(container: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** node_modules/.bin/azurite-blob of this checkout (devDependency `azurite`); throws (never skips) when absent. */
export function azuriteBinary(): string {
  const bin = join(root, 'node_modules', '.bin', 'azurite-blob');
  if (!existsSync(bin)) {
    throw new Error(`testbed: ${bin} is missing: run npm ci (azurite is a devDependency)`);
  }
  return bin;
}

function azuriteVersion(): string {
  try {
    return (
      JSON.parse(readFileSync(join(root, 'node_modules', 'azurite', 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'unknown';
  }
}

export interface StartAzuriteOptions {
  /** The address to listen on (default 127.0.0.1): a node's bridge gateway, for pods. */
  host?: string;
  /**
   * Serve HTTPS with a throw-away CA (`tls.caFile`: NODE_EXTRA_CA_CERTS for a vault-ops process).
   * The Blob SDK takes no CA of its own, so this test process adds the CA to its default trust store.
   */
  tls?: boolean;
}

/**
 * Azurite's Blob service on 127.0.0.1 (or `host`), a random port and a temp dir (removed by stop()),
 * with an account of its own: name and key go through AZURITE_ACCOUNTS (the environment), never argv.
 */
export async function startAzurite(options: StartAzuriteOptions = {}): Promise<AzuriteTestbed> {
  const host = options.host ?? '127.0.0.1';
  const binary = azuriteBinary();
  const account = `vo${randomBytes(6).toString('hex')}`;
  const accountKey = randomBytes(64).toString('base64');
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await makeTempDir('azurite');
    const port = await freePort();
    const tls = options.tls ? makeTestCertificates(dir, 'azurite', [host]) : undefined;
    if (tls) setDefaultCACertificates([...getCACertificates('default'), tls.caPem]);
    const endpoint = `${tls ? 'https' : 'http'}://${host}:${port}/${account}`;
    const server = await startServerProcess({
      name: 'azurite',
      command: binary,
      args: [
        '--blobHost',
        host,
        '--blobPort',
        String(port),
        '--location',
        join(dir, 'data'),
        '--silent',
        // The SDK may speak a newer service version than the emulator knows; the calls we make exist in both.
        '--skipApiVersionCheck',
        ...(tls ? ['--cert', tls.certFile, '--key', tls.keyFile] : []),
      ],
      env: { ...process.env, AZURITE_ACCOUNTS: `${account}:${accountKey}` },
      dir,
    });
    const credential = new StorageSharedKeyCredential(account, accountKey);
    const client = () => new BlobServiceClient(endpoint, credential);
    try {
      await waitUntil(
        `azurite on ${endpoint}`,
        async () => {
          await client().getProperties();
          return true;
        },
        { server, timeoutMs: 30_000 },
      );
    } catch (err) {
      const log = await server.log();
      await server.stop();
      lastError = err;
      if (/EADDRINUSE|address already in use/i.test(log) && attempt < 3) continue; // lost the port race
      throw err;
    }
    return {
      endpoint,
      account,
      accountKey,
      ...(tls ? { tls } : {}),
      connectionString:
        `DefaultEndpointsProtocol=${tls ? 'https' : 'http'};AccountName=${account};AccountKey=${accountKey};` +
        `BlobEndpoint=${endpoint};`,
      version: azuriteVersion(),
      dir,
      process: server,
      client,
      async createContainer(name) {
        await client().getContainerClient(name).create();
      },
      sas() {
        return generateAccountSASQueryParameters(
          {
            expiresOn: new Date(Date.now() + 3600_000),
            permissions: AccountSASPermissions.parse('rwdlac'),
            resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
            services: AccountSASServices.parse('b').toString(),
          },
          credential,
        ).toString();
      },
      async listKeys(container, prefix) {
        const keys: string[] = [];
        for await (const b of client()
          .getContainerClient(container)
          .listBlobsFlat(prefix ? { prefix } : {}))
          keys.push(b.name);
        return keys;
      },
      stop: () => server.stop(),
    };
  }
  throw lastError instanceof Error ? lastError : new Error('testbed: azurite did not start');
}
