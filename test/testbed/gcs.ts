import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findBinary } from './cached-binary.js';
import { freePort } from './ports.js';
import { makeTempDir, startServerProcess, waitUntil, type ServerProcess } from './server-process.js';

/** Keep in step with test/testbed/build.sh. */
export const FAKE_GCS_SERVER_VERSION = '1.56.1';

export interface CreateGcsBucketOptions {
  /**
   * `versioning.enabled` at creation: every overwrite or delete keeps a noncurrent generation.
   * Only the memory backend has it (the filesystem backend answers "not implemented").
   */
  versioning?: boolean;
  /** `defaultEventBasedHold` at creation (fake-gcs-server reports it; it does not enforce holds). */
  defaultEventBasedHold?: boolean;
}

export interface GcsTestbed {
  /** http://127.0.0.1:PORT (or the host asked for): the JSON API base (`/storage/v1`, `/upload/storage/v1`). */
  endpoint: string;
  binary: string;
  version: string;
  /** Directory of the running server, its filesystem root under it (removed by stop()). */
  dir: string;
  process: ServerProcess;
  createBucket(name: string, options?: CreateGcsBucketOptions): Promise<void>;
  /** All object names (live generations) in `bucket`, optionally under `prefix`. */
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * The fake-gcs-server binary: VAULT_OPS_FAKE_GCS_SERVER_BINARY, else the cached build, else
 * `fake-gcs-server` on PATH. Throws (never skips) when there is none.
 */
export function fakeGcsServerBinary(): string {
  return findBinary({
    envVar: 'VAULT_OPS_FAKE_GCS_SERVER_BINARY',
    cacheDir: `fake-gcs-server-${FAKE_GCS_SERVER_VERSION}`,
    file: 'fake-gcs-server',
    pathNames: ['fake-gcs-server'],
    buildTarget: 'fake-gcs-server',
  });
}

/** The module version from the Go build info embedded by `go install` (the binary has no --version). */
async function fakeGcsServerVersion(binary: string): Promise<string> {
  try {
    const text = (await readFile(binary)).toString('latin1');
    return /\nmod\tgithub\.com\/fsouza\/fake-gcs-server\t(v[^\t\n]+)/.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface StartGcsOptions {
  /**
   * `filesystem` (default; objects in a temp dir, as design.md §5 says) or `memory`, whose only
   * use here is bucket versioning, which fake-gcs-server 1.56.1 implements for memory alone.
   */
  backend?: 'filesystem' | 'memory';
  /** The address to listen on (default 127.0.0.1): a node's bridge gateway, for pods. */
  host?: string;
}

/** Start fake-gcs-server on loopback or `host` (random port, filesystem backend in a temp dir). */
export async function startGcs(options: StartGcsOptions = {}): Promise<GcsTestbed> {
  const host = options.host ?? '127.0.0.1';
  const backend = options.backend ?? 'filesystem';
  const binary = fakeGcsServerBinary();
  const version = await fakeGcsServerVersion(binary);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const dir = await makeTempDir('fake-gcs');
    const root = join(dir, 'root');
    const port = await freePort();
    const endpoint = `http://${host}:${port}`;
    const server = await startServerProcess({
      name: 'fake-gcs-server',
      command: binary,
      args: [
        '-scheme',
        'http',
        '-host',
        host,
        '-port',
        String(port),
        '-backend',
        backend,
        ...(backend === 'filesystem' ? ['-filesystem-root', root] : []),
        // Location headers of resumable uploads point here (not at the default public host).
        '-external-url',
        endpoint,
        '-log-level',
        'warn',
      ],
      dir,
    });
    try {
      await waitUntil(`fake-gcs-server on ${endpoint}`, async () => (await fetch(`${endpoint}/storage/v1/b`)).ok, {
        server,
        timeoutMs: 30_000,
      });
    } catch (err) {
      const log = await server.log();
      await server.stop();
      lastError = err;
      if (/address already in use/i.test(log) && attempt < 3) continue; // lost the port race: retry
      throw err;
    }

    let stopped = false;
    const api = async (path: string, init?: RequestInit): Promise<unknown> => {
      const res = await fetch(`${endpoint}/storage/v1${path}`, init);
      const text = await res.text();
      if (!res.ok) throw new Error(`testbed: fake-gcs-server ${init?.method ?? 'GET'} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    return {
      endpoint,
      binary,
      version,
      dir,
      process: server,
      async createBucket(name, options = {}) {
        await api('/b', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            name,
            ...(options.versioning ? { versioning: { enabled: true } } : {}),
            ...(options.defaultEventBasedHold ? { defaultEventBasedHold: true } : {}),
          }),
        });
      },
      async listKeys(bucket, prefix) {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const q = new URLSearchParams({ ...(prefix ? { prefix } : {}), ...(token ? { pageToken: token } : {}) });
          const page = (await api(`/b/${encodeURIComponent(bucket)}/o?${q}`)) as {
            items?: { name: string }[];
            nextPageToken?: string;
          };
          for (const item of page.items ?? []) keys.push(item.name);
          token = page.nextPageToken;
        } while (token);
        return keys;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error('testbed: fake-gcs-server did not start');
}
