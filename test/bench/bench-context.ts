import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { bootstrapRequest } from '../testbed/bootstrap-http.js';
import { startS3, type S3Testbed } from '../testbed/s3.js';
import { startVault, type VaultTestbed } from '../testbed/vault.js';
import { round } from './measure.js';
import { BenchBucket } from './s3-bucket.js';

/**
 * What the benches share within one `npm run bench` invocation: the CLI under test, one OpenBao
 * seeded to the target size (taken over by snapshot, verify and inspect), one versitygw, and
 * their teardown.
 */

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export interface BenchOptions {
  sizeMb: number;
  runs: number;
  /** `built` (default): node bin/vault-ops.js (dist/, like production); `source`: through tsx. */
  cli: 'built' | 'source';
  /** rotate: secrets and concurrency. */
  secrets: number;
  concurrency: number;
  /** save-memory: the snapshot sizes (MB) the vault is grown to, one save each. */
  sizes: number[];
  /** save-memory: stores written at once (the first S3, the others folders). */
  destinations: number;
  /** inspect: an existing archive instead of a fresh snapshot of the seeded testbed. */
  file?: string;
  /** catalogue: the store sizes, in snapshots. */
  snapshotCounts: number[];
  /** catalogue: the object stores measured. */
  stores: Array<'s3' | 'azure' | 'gcs'>;
}

export interface SeededVault {
  vault: VaultTestbed;
  /** Bytes of secret values written. */
  seededBytes: number;
  secrets: number;
  seedSeconds: number;
}

/** Values are random base64 (barrier-encrypted in storage, so incompressible in the snapshot). */
const VALUE_BYTES = 768 * 1024;
const SEED_CONCURRENCY = 4;

export class BenchContext {
  private vaultPromise: Promise<SeededVault> | undefined;
  private s3Promise: Promise<S3Testbed> | undefined;
  private readonly buckets = new Map<string, Promise<BenchBucket>>();
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(readonly options: BenchOptions) {}

  /** Command and leading arguments that run the vault-ops CLI. */
  cli(): { command: string; args: string[] } {
    // Extra node flags for profiling runs (e.g. BENCH_CLI_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean);
    if (this.options.cli === 'source')
      return { command: process.execPath, args: [...nodeArgs, '--import', 'tsx', join(repoRoot, 'src/cli/entry.ts')] };
    // BENCH_CLI_LAUNCHER: measure a prototype build (a launcher that imports its own dist/cli/main.js).
    const launcher = process.env.BENCH_CLI_LAUNCHER ?? join(repoRoot, 'bin/vault-ops.js');
    if (!process.env.BENCH_CLI_LAUNCHER && !existsSync(join(repoRoot, 'dist/cli/main.js')))
      throw new Error('bench: dist/ is missing: run `npm run build` first (or pass --cli source)');
    return { command: process.execPath, args: [...nodeArgs, launcher] };
  }

  /** The environment a vault-ops run gets: nothing from the shell but PATH and HOME. */
  cliEnv(vault: VaultTestbed, s3?: S3Testbed, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      VAULT_ADDR: vault.addr,
      VAULT_TOKEN: vault.rootToken,
      ...(s3
        ? { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region }
        : {}),
      ...extra,
    };
  }

  s3(): Promise<S3Testbed> {
    this.s3Promise ??= startS3().then((s3) => {
      this.cleanups.push(() => s3.stop());
      return s3;
    });
    return this.s3Promise;
  }

  /** A bucket on the shared versitygw, created on first use. */
  bucket(name: string): Promise<BenchBucket> {
    let b = this.buckets.get(name);
    if (!b) {
      b = this.s3().then((s3) => BenchBucket.create(s3, name));
      this.buckets.set(name, b);
    }
    return b;
  }

  /** One OpenBao, seeded once with about `sizeMb` MiB of incompressible KV v2 values. */
  seededVault(): Promise<SeededVault> {
    this.vaultPromise ??= (async () => {
      const vault = await startVault();
      this.cleanups.push(() => vault.stop());
      const seeded = await seed(vault, this.options.sizeMb);
      return { vault, ...seeded };
    })();
    return this.vaultPromise;
  }

  /** A fresh, empty OpenBao (rotate keeps its own, undisturbed by the big seed). */
  async freshVault(): Promise<VaultTestbed> {
    const vault = await startVault();
    this.cleanups.push(() => vault.stop());
    return vault;
  }

  /** Run `cleanup` when the benches end (servers a bench started itself, temp dirs). */
  onClose(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async close(): Promise<void> {
    for (const c of this.cleanups.reverse()) await c().catch(() => undefined);
  }
}

/** Seed until about `sizeMb` MiB are stored; `from` values already are (seeding grows a vault step by step). */
export async function seed(
  vault: VaultTestbed,
  sizeMb: number,
  from = 0,
): Promise<{ seededBytes: number; secrets: number; seedSeconds: number }> {
  await ensureKvV2(vault, 'secret');
  const started = performance.now();
  const count = Math.max(1, Math.ceil((sizeMb * 1024 * 1024) / VALUE_BYTES));
  let next = from;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const value = randomBytes((VALUE_BYTES * 3) / 4).toString('base64');
        await bootstrapRequest(vault.addr, 'POST', `secret/data/bench/blob-${i}`, {
          token: vault.rootToken,
          body: { data: { value } },
        });
      }
    }),
  );
  return {
    seededBytes: count * VALUE_BYTES,
    secrets: count,
    seedSeconds: round((performance.now() - started) / 1000, 1),
  };
}

/** Mount a KV v2 engine at `mount` unless one is there. */
export async function ensureKvV2(vault: VaultTestbed, mount: string): Promise<void> {
  const { body } = await bootstrapRequest(vault.addr, 'GET', 'sys/mounts', { token: vault.rootToken });
  if (body.data?.[`${mount}/`] ?? body[`${mount}/`]) return;
  await bootstrapRequest(vault.addr, 'POST', `sys/mounts/${mount}`, {
    token: vault.rootToken,
    body: { type: 'kv', options: { version: '2' } },
  });
}
