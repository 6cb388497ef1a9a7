import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { mapInFlight } from '../../src/repository/in-flight.js';
import { archiveKey } from '../../src/repository/layout.js';
import { signManifest } from '../../src/repository/signature.js';
import { SnapshotRepository } from '../../src/repository/snapshot-repository.js';
import { openSnapshotStore } from '../../src/store/open-store.js';
import type { SnapshotStore } from '../../src/store/snapshot-store.js';
import { fakeManifest, idAt } from '../helpers/manifest.js';
import { startAzurite } from '../testbed/azurite.js';
import { startGcs } from '../testbed/gcs.js';
import type { BenchContext } from './bench-context.js';
import { repoRoot } from './bench-context.js';
import { LoadWatch, median, round, runChecked, type ProcessRun } from './measure.js';

/**
 * `catalogue`: a store of N signed snapshots (a small archive, its manifest and one signed drill
 * record each, written with the repository's own layout, manifest writer and drill-record writer, and
 * the signed catalogue index a save or verify writes: its first build is timed as `indexSeconds`) on
 * versitygw, Azurite and fake-gcs-server; then, alternating in one run, `snapshot list`, `snapshot
 * prune --dry-run` and verify's selection (`tools/verify-selection.mjs`: the built `selectDrillTarget`
 * for `latest`, `unverified` and an exact id) against a raw listing of the same keys through the
 * same SDK (`tools/raw-list.mjs`). Every process is timed spawn → exit, start-up included.
 *
 * BENCH_BEFORE=DIR adds the same commands of another build (DIR/bin/vault-ops.js and DIR/dist, e.g.
 * main's, built from `git archive`) to the alternation, on the same seeded stores, for stores of up
 * to BENCH_BEFORE_MAX_SNAPSHOTS (default 1000: main reads 10,000 manifests one at a time for minutes).
 */

const HOUR = 3_600_000;
const SEED_IN_FLIGHT = 32;
const ARCHIVE_BYTES = 256;

interface BenchStore {
  kind: 's3' | 'azure' | 'gcs';
  /** Store URL of the prefix holding `count` snapshots. */
  url(count: number): string;
  env: Record<string, string>;
  /** raw-list.mjs arguments for that prefix. */
  raw(count: number): string[];
  open(url: string): Promise<SnapshotStore>;
}

const prefixOf = (count: number) => `catalogue-${count}`;

/** N snapshots an hour apart (the newest an hour ago); every tenth one's drill failed. */
async function seedStore(store: SnapshotStore, count: number, signingKey: ReturnType<typeof generateKeyPairSync>) {
  const repository = new SnapshotRepository(store, {
    verifyKeys: [signingKey.publicKey],
    signingKey: signingKey.privateKey,
    now: () => new Date(),
  });
  const newest = Math.floor(Date.now() / 1000) * 1000 - HOUR;
  const filler = 'x'.repeat(ARCHIVE_BYTES);
  await mapInFlight(
    Array.from({ length: count }, (_, i) => i),
    SEED_IN_FLIGHT,
    async (i) => {
      const time = new Date(newest - (count - 1 - i) * HOUR);
      const id = idAt(time, i);
      const body = `${id}${filler}`.slice(0, ARCHIVE_BYTES);
      const key = archiveKey(store.prefix, id, { encrypted: false });
      const put = await store.putBytes(key, body, { contentType: 'application/gzip' });
      const manifest = signManifest(
        fakeManifest({
          id,
          createdAt: time.toISOString(),
          archive: { key, bytes: put.bytes, sha256: createHash('sha256').update(body).digest('hex') },
          raft: { index: 1000 + i, term: 1, configurationIndex: 1, servers: [] },
          cluster: { id: 'bench-cluster', name: 'bench' },
        }),
        signingKey.privateKey,
      );
      await repository.putManifest(manifest);
      const finishedAt = new Date(time.getTime() + 10 * 60_000).toISOString();
      const passed = i % 10 !== 9;
      await repository.drills.write({
        snapshotId: id,
        archiveSha256: manifest.archive.sha256,
        finishedAt,
        passed,
        mode: 'recovery',
        server: { flavour: 'openbao', version: '2.4.0' },
        checks: [{ name: 'bench', passed, detail: 'seeded' }],
        timings: { download: 1, start: 1, restore: 1, unseal: 1, checks: 0, total: 4 },
        rtoSeconds: 4,
        toolVersion: 'bench',
      });
    },
  );
  return { oldestId: idAt(new Date(newest - (count - 1) * HOUR), 0) };
}

export async function catalogueBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-catalogue-'));
  ctx.onClose(() => rm(work, { recursive: true, force: true }));
  const kinds = ctx.options.stores;
  const counts = ctx.options.snapshotCounts;
  const signingKey = generateKeyPairSync('ed25519');
  const verifyKeyFile = join(work, 'verify.pem');
  await writeFile(verifyKeyFile, signingKey.publicKey.export({ type: 'spki', format: 'pem' }));

  const stores: BenchStore[] = [];
  const started = await Promise.all([
    kinds.includes('s3') ? ctx.s3() : undefined,
    kinds.includes('azure') ? startAzurite() : undefined,
    kinds.includes('gcs') ? startGcs() : undefined,
  ]);
  const [s3, az, gcs] = started;
  if (az) ctx.onClose(() => az.stop());
  if (gcs) ctx.onClose(() => gcs.stop());
  if (s3) {
    await s3.createBucket('catalogue');
    const env = s3.cliEnv();
    stores.push({
      kind: 's3',
      url: (n) => `s3://catalogue/${prefixOf(n)}`,
      env,
      raw: (n) => ['s3', 'catalogue', `${prefixOf(n)}/`],
      open: (url) => openSnapshotStore(url, { s3Endpoint: s3.endpoint, s3ForcePathStyle: true }, env),
    });
  }
  if (az) {
    await az.createContainer('catalogue');
    const env = {
      AZURE_STORAGE_ACCOUNT: az.account,
      AZURE_STORAGE_KEY: az.accountKey,
      VAULT_OPS_AZURE_ENDPOINT: az.endpoint,
    };
    stores.push({
      kind: 'azure',
      url: (n) => `az://catalogue/${prefixOf(n)}`,
      env,
      raw: (n) => ['azure', 'catalogue', `${prefixOf(n)}/`],
      open: (url) => openSnapshotStore(url, { azureEndpoint: az.endpoint }, env),
    });
  }
  if (gcs) {
    await gcs.createBucket('catalogue');
    const env = { VAULT_OPS_GCS_ENDPOINT: gcs.endpoint };
    stores.push({
      kind: 'gcs',
      url: (n) => `gs://catalogue/${prefixOf(n)}`,
      env,
      raw: (n) => ['gcs', 'catalogue', `${prefixOf(n)}/`],
      open: (url) => openSnapshotStore(url, { gcsEndpoint: gcs.endpoint }, env),
    });
  }

  // Seed every store and size at once (each store SEED_IN_FLIGHT puts at a time).
  const seedStarted = performance.now();
  const seeded = new Map<string, { oldestId: string; seconds: number; indexSeconds: number; indexEntries: number }>();
  await Promise.all(
    stores.flatMap((s) =>
      counts.map(async (n) => {
        const t0 = performance.now();
        const store = await s.open(s.url(n));
        try {
          const { oldestId } = await seedStore(store, n, signingKey);
          const seconds = round((performance.now() - t0) / 1000, 1);
          // The index as the first save or verify after an upgrade writes it: every object read once.
          const t1 = performance.now();
          const index = await new SnapshotRepository(store).refreshIndex({ signingKey: signingKey.privateKey });
          if (index.state !== 'written') throw new Error(`bench: no catalogue index in ${s.url(n)}: ${index.reason}`);
          const indexSeconds = round((performance.now() - t1) / 1000, 1);
          seeded.set(`${s.kind}/${n}`, { oldestId, seconds, indexSeconds, indexEntries: index.entries });
          process.stderr.write(`bench catalogue: seeded ${n} snapshots in ${s.kind}\n`);
        } finally {
          await store.close();
        }
      }),
    ),
  );
  const seedSeconds = round((performance.now() - seedStarted) / 1000, 1);

  const cli = ctx.cli();
  const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work };
  const tools = join(repoRoot, 'test/bench/tools');
  const node = process.execPath;
  const before = process.env.BENCH_BEFORE;
  const beforeMax = Number(process.env.BENCH_BEFORE_MAX_SNAPSHOTS ?? 1000);
  const load = new LoadWatch();
  const rows: Array<Record<string, unknown>> = [];
  for (const n of counts) {
    for (const s of stores) {
      const url = s.url(n);
      const env = { ...baseEnv, ...s.env };
      const { oldestId } = seeded.get(`${s.kind}/${n}`)!;
      const key = ['--verify-key', verifyKeyFile];
      const variants: Record<string, () => Promise<ProcessRun>> = {
        raw: () => runChecked('raw listing', node, [join(tools, 'raw-list.mjs'), ...s.raw(n)], { env, cwd: repoRoot }),
        ...commands('', cli, join(repoRoot, 'dist')),
        ...(before && n <= beforeMax
          ? commands('Before', { command: node, args: [join(before, 'bin/vault-ops.js')] }, join(before, 'dist'))
          : {}),
      };
      /** list, prune --dry-run and verify's selections of one build, named with `suffix`. */
      function commands(suffix: string, build: { command: string; args: string[] }, dist: string) {
        const run = (what: string, args: string[]) => () =>
          runChecked(what, build.command, [...build.args, ...args, '--from', url, ...key, '--output', 'json'], {
            env,
            cwd: repoRoot,
          });
        const select = (which: string) => () =>
          runChecked(
            `verify selection ${which}`,
            node,
            [join(tools, 'verify-selection.mjs'), url, which, verifyKeyFile],
            {
              env: { ...env, BENCH_DIST: dist },
              cwd: repoRoot,
            },
          );
        return {
          [`list${suffix}`]: run('snapshot list', ['snapshot', 'list']),
          [`prune${suffix}`]: run('snapshot prune --dry-run', [
            'snapshot',
            'prune',
            '--keep-last',
            '24',
            '--keep-daily',
            '30',
            '--dry-run',
          ]),
          [`selectLatest${suffix}`]: select('latest'),
          [`selectUnverified${suffix}`]: select('unverified'),
          [`selectExact${suffix}`]: select(oldestId),
        };
      }
      const samples: Record<string, number[]> = {};
      const rss: Record<string, number[]> = {};
      const cpu: Record<string, number[]> = {};
      const loads: number[] = [];
      for (let run = 1; run <= ctx.options.runs; run++) {
        for (const [name, go] of Object.entries(variants)) {
          const r = await go();
          if (name === 'raw' && Number(r.stdout.trim()) !== 3 * n + 1)
            throw new Error(`bench: raw listing of ${url} found ${r.stdout.trim()} keys, not ${3 * n + 1}`);
          if (name.startsWith('list')) {
            const listed = (JSON.parse(r.stdout) as { snapshots: unknown[] }).snapshots.length;
            if (listed !== n) throw new Error(`bench: snapshot list of ${url} listed ${listed}, not ${n}`);
          }
          samples[name] = [...(samples[name] ?? []), round(r.seconds, 3)];
          rss[name] = [...(rss[name] ?? []), r.peakRssMb];
          cpu[name] = [...(cpu[name] ?? []), r.cpuSeconds];
          process.stderr.write(`bench catalogue: ${s.kind} ${n} ${name} run ${run}: ${round(r.seconds, 2)} s\n`);
        }
        loads.push(load.now());
      }
      const raw = median(samples.raw!);
      const row: Record<string, unknown> = {
        store: s.kind,
        snapshots: n,
        keys: 3 * n + 1,
        seedSeconds: seeded.get(`${s.kind}/${n}`)!.seconds,
        indexSeconds: seeded.get(`${s.kind}/${n}`)!.indexSeconds,
        indexEntries: seeded.get(`${s.kind}/${n}`)!.indexEntries,
      };
      for (const name of Object.keys(variants)) {
        const m = median(samples[name]!);
        row[name] = {
          seconds: round(m, 2),
          runs: samples[name],
          peakRssMb: median(rss[name]!),
          cpuSeconds: median(cpu[name]!),
        };
        if (name !== 'raw') row[`${name}VsRaw`] = round(m / raw, 2);
      }
      row.load = loads;
      rows.push(row);
      process.stderr.write(`bench catalogue: row ${JSON.stringify(row)}\n`);
    }
  }
  return { bench: 'catalogue', runs: ctx.options.runs, seedSeconds, rows, load: load.stop() };
}
