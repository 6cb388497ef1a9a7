import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchContext, repoRoot, seed } from './bench-context.js';
import { LoadWatch, round, runChecked } from './measure.js';

/**
 * `save-memory`: is `snapshot save` flat in memory whatever the snapshot size? One fresh OpenBao is
 * grown step by step (64 MB, 256 MB, 1 GB by default; `--sizes`), and at each step a save to S3 is
 * measured: peak RSS (the process's VmHWM) and, at that peak, what it is made of (V8 heap, array
 * buffers, the rest: code and native libraries), sampled inside the process by tools/memory-sampler.mjs.
 * Target: under 120 MB at 1 GB, within ±15 % from the smallest to the largest.
 */
export async function saveMemoryBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const vault = await ctx.freshVault();
  const s3 = await ctx.s3();
  const bucket = await ctx.bucket('bench-save-memory');
  const cli = ctx.cli();
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-memory-'));
  const load = new LoadWatch();
  const steps: Array<Record<string, unknown>> = [];
  let seeded = 0;
  try {
    for (const sizeMb of ctx.options.sizes) {
      const s = await seed(vault, sizeMb, seeded);
      seeded = s.secrets;
      const memoryFile = join(work, `memory-${sizeMb}.json`);
      const run = await runChecked(
        'vault-ops snapshot save',
        cli.command,
        [
          '--import',
          join(repoRoot, 'test/bench/tools/memory-sampler.mjs'),
          ...cli.args,
          'snapshot',
          'save',
          '--to',
          `s3://${bucket.name}/memory`,
          // --destinations N: the same save also to N-1 folders at once (one read, fanned out).
          ...Array.from({ length: ctx.options.destinations - 1 }, (_, i) => [
            '--to',
            join(work, `folder-${i + 1}`),
          ]).flat(),
          '--s3-endpoint',
          s3.endpoint,
          '--s3-force-path-style',
          '--output',
          'json',
        ],
        { env: { ...ctx.cliEnv(vault, s3), BENCH_MEMORY_FILE: memoryFile }, cwd: repoRoot },
      );
      const manifest = JSON.parse(run.stdout) as { archive: { bytes: number } };
      for (let i = 1; i < ctx.options.destinations; i++)
        await rm(join(work, `folder-${i}`), { recursive: true, force: true });
      const atPeak = JSON.parse(await readFile(memoryFile, 'utf8')) as Record<string, number>;
      steps.push({
        sizeMb,
        destinations: ctx.options.destinations,
        archiveMb: round(manifest.archive.bytes / 1048576, 1),
        seconds: round(run.seconds),
        cpuSeconds: run.cpuSeconds,
        peakRssMb: run.peakRssMb,
        atPeakMb: atPeak,
        load: load.now(),
      });
      process.stderr.write(`bench save-memory: ${sizeMb} MB: ${run.peakRssMb} MiB peak RSS\n`);
      await bucket.empty('memory/');
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const peaks = steps.map((s) => s.peakRssMb as number);
  return {
    bench: 'save-memory',
    steps,
    largestPeakRssMb: peaks.at(-1),
    flatness: round(Math.max(...peaks) / Math.min(...peaks), 3),
    target: { largestPeakRssMb: 120, flatness: 1.3 },
    load: load.stop(),
  };
}
