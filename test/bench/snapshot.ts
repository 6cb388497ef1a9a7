import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.js';
import { repoRoot } from './bench-context.js';
import { LoadWatch, MiB, median, round, runChecked, type ProcessRun } from './measure.js';

/**
 * `snapshot`: the seeded testbed's snapshot moved to S3 three ways, alternating, `runs` times each:
 *   vaultOps  `vault-ops snapshot save --to s3://…` (stream → inspect + hash → multipart upload)
 *   baseline  `bao operator raft snapshot save FILE`, then FILE uploaded with lib-storage
 *   raw       GET snapshot piped into a plain multipart upload (no inspection): the pipe's limit
 */
export const SNAPSHOT_BUCKET = 'bench-snapshots';
export const VAULT_OPS_PREFIX = 'vault-ops';

export async function snapshotBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const seeded = await ctx.seededVault();
  const { vault } = seeded;
  const s3 = await ctx.s3();
  const bucket = await ctx.bucket(SNAPSHOT_BUCKET);
  const cli = ctx.cli();
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-snapshot-'));
  const toolEnv = { ...ctx.cliEnv(vault, s3), BENCH_S3_ENDPOINT: s3.endpoint };
  const tools = join(repoRoot, 'test/bench/tools');
  const load = new LoadWatch();

  const samples = {
    vaultOps: [] as number[],
    baseline: [] as number[],
    baselineSave: [] as number[],
    baselineUpload: [] as number[],
    raw: [] as number[],
  };
  const rss = {
    vaultOps: [] as number[],
    baoSave: [] as number[],
    baselineUpload: [] as number[],
    raw: [] as number[],
  };
  const bytes = { vaultOps: [] as number[], baseline: [] as number[], raw: [] as number[] };
  const cpu = {
    vaultOps: [] as number[],
    baoSave: [] as number[],
    baselineUpload: [] as number[],
    raw: [] as number[],
  };
  const perRunLoad: number[] = [];

  try {
    for (let run = 1; run <= ctx.options.runs; run++) {
      // (a) vault-ops
      const a = await runChecked(
        'vault-ops snapshot save',
        cli.command,
        [
          ...cli.args,
          'snapshot',
          'save',
          '--to',
          `s3://${bucket.name}/${VAULT_OPS_PREFIX}`,
          '--s3-endpoint',
          s3.endpoint,
          '--s3-force-path-style',
          '--output',
          'json',
        ],
        {
          env: ctx.cliEnv(vault, s3),
          cwd: repoRoot,
        },
      );
      const manifest = JSON.parse(a.stdout) as { archive: { bytes: number } };
      samples.vaultOps.push(a.seconds);
      rss.vaultOps.push(a.peakRssMb);
      cpu.vaultOps.push(a.cpuSeconds);
      bytes.vaultOps.push(manifest.archive.bytes);

      // (b) baseline: save to a file, then upload it
      const file = join(work, `baseline-${run}.snap`);
      const save = await runChecked(
        'bao operator raft snapshot save',
        vault.binary,
        ['operator', 'raft', 'snapshot', 'save', file],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: work,
            BAO_ADDR: vault.addr,
            BAO_TOKEN: vault.rootToken,
          },
        },
      );
      const upload = await runChecked(
        'baseline upload',
        process.execPath,
        [join(tools, 'upload-file.mjs'), file, bucket.name, `baseline/${run}.snap`],
        { env: toolEnv, cwd: repoRoot },
      );
      samples.baselineSave.push(save.seconds);
      samples.baselineUpload.push(upload.seconds);
      samples.baseline.push(save.seconds + upload.seconds);
      rss.baoSave.push(save.peakRssMb);
      rss.baselineUpload.push(upload.peakRssMb);
      cpu.baoSave.push(save.cpuSeconds);
      cpu.baselineUpload.push(upload.cpuSeconds);
      bytes.baseline.push((await stat(file)).size);
      await rm(file, { force: true });

      // (c) raw pipe
      const c: ProcessRun = await runChecked(
        'raw pipe',
        process.execPath,
        [join(tools, 'raw-pipe.mjs'), bucket.name, `raw/${run}.snap`],
        { env: toolEnv, cwd: repoRoot },
      );
      samples.raw.push(c.seconds);
      rss.raw.push(c.peakRssMb);
      cpu.raw.push(c.cpuSeconds);
      bytes.raw.push(await bucket.size(`raw/${run}.snap`));

      perRunLoad.push(load.now());
      // Keep the newest vault-ops snapshot (verify restores it); drop the rest.
      await bucket.empty('baseline/');
      await bucket.empty('raw/');
      process.stderr.write(
        `bench snapshot: run ${run}: vault-ops ${a.seconds.toFixed(2)}s (${a.peakRssMb} MiB), baseline ` +
          `${save.seconds.toFixed(2)}+${upload.seconds.toFixed(2)}s, raw ${c.seconds.toFixed(2)}s, load ` +
          `${perRunLoad.at(-1)}\n`,
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const archiveBytes = median(bytes.vaultOps);
  const m = {
    vaultOps: round(median(samples.vaultOps)),
    baseline: round(median(samples.baseline)),
    raw: round(median(samples.raw)),
    baselineSave: round(median(samples.baselineSave)),
    baselineUpload: round(median(samples.baselineUpload)),
  };
  const mbps = (s: number) => round(archiveBytes / MiB / s, 1);
  return {
    bench: 'snapshot',
    sizeMb: round(archiveBytes / MiB, 1),
    targetSizeMb: ctx.options.sizeMb,
    runs: ctx.options.runs,
    seed: { secrets: seeded.secrets, seededMb: round(seeded.seededBytes / MiB, 1), seconds: seeded.seedSeconds },
    medianSeconds: m,
    mbPerSecond: { vaultOps: mbps(m.vaultOps), baseline: mbps(m.baseline), raw: mbps(m.raw) },
    ratioVsBaseline: round(m.vaultOps / m.baseline, 3),
    ratioVsRaw: round(m.vaultOps / m.raw, 3),
    peakRssMb: Math.max(...rss.vaultOps),
    /** CPU seconds of the client process alone (bao's server-side work is not in it). */
    medianCpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(median(v))])),
    peakRssMbOthers: {
      baoSave: Math.max(...rss.baoSave),
      baselineUpload: Math.max(...rss.baselineUpload),
      raw: Math.max(...rss.raw),
    },
    archiveMb: {
      vaultOps: bytes.vaultOps.map((b) => round(b / MiB, 1)),
      baseline: bytes.baseline.map((b) => round(b / MiB, 1)),
      raw: bytes.raw.map((b) => round(b / MiB, 1)),
    },
    samplesSeconds: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, v.map((x) => round(x))])),
    samplesPeakRssMb: rss,
    load: { ...load.stop(), perRun: perRunLoad },
  };
}
