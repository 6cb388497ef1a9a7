import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './bench-context.js';
import { repoRoot } from './bench-context.js';
import { LoadWatch, MiB, median, round, runChecked } from './measure.js';

/**
 * `inspect`: MB/s of `vault-ops snapshot inspect FILE` on a local archive against
 * `gzip -dc FILE | sha256sum`, the same inflate + hash work in native tools, alternating.
 * The archive is a real snapshot of the seeded testbed (`bao operator raft snapshot save`)
 * unless `--file` names one.
 */
export async function inspectBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-inspect-'));
  try {
    let file = ctx.options.file;
    let seed: Record<string, unknown> | undefined;
    if (!file) {
      const seeded = await ctx.seededVault();
      file = join(work, 'bench.snap');
      await runChecked(
        'bao operator raft snapshot save',
        seeded.vault.binary,
        ['operator', 'raft', 'snapshot', 'save', file],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: work,
            BAO_ADDR: seeded.vault.addr,
            BAO_TOKEN: seeded.vault.rootToken,
          },
        },
      );
      seed = { secrets: seeded.secrets, seconds: seeded.seedSeconds };
    }
    const bytes = (await stat(file)).size;
    const cli = ctx.cli();
    const load = new LoadWatch();
    const samples = { vaultOps: [] as number[], native: [] as number[] };
    const rss: number[] = [];
    let report: { entryCount?: number; meta?: { size?: number } } = {};
    for (let run = 1; run <= ctx.options.runs; run++) {
      const a = await runChecked(
        'vault-ops snapshot inspect',
        cli.command,
        [...cli.args, 'snapshot', 'inspect', file, '--output', 'json'],
        {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work },
          cwd: repoRoot,
        },
      );
      report = JSON.parse(a.stdout) as typeof report;
      samples.vaultOps.push(a.seconds);
      rss.push(a.peakRssMb);
      const b = await runChecked('gzip -dc | sha256sum', 'sh', [
        '-c',
        'set -e; gzip -dc "$1" | sha256sum >/dev/null',
        'sh',
        file,
      ]);
      samples.native.push(b.seconds);
      process.stderr.write(
        `bench inspect: run ${run}: vault-ops ${a.seconds.toFixed(2)}s, native ${b.seconds.toFixed(2)}s, load ` +
          `${load.now()}\n`,
      );
    }
    const m = { vaultOps: round(median(samples.vaultOps)), native: round(median(samples.native)) };
    return {
      bench: 'inspect',
      sizeMb: round(bytes / MiB, 1),
      stateBinMb: report.meta?.size !== undefined ? round(report.meta.size / MiB, 1) : undefined,
      entries: report.entryCount,
      runs: ctx.options.runs,
      ...(seed ? { seed } : { file }),
      medianSeconds: m,
      mbPerSecond: { vaultOps: round(bytes / MiB / m.vaultOps, 1), native: round(bytes / MiB / m.native, 1) },
      ratioVsNative: round(m.vaultOps / m.native, 3),
      peakRssMb: Math.max(...rss),
      samplesSeconds: { vaultOps: samples.vaultOps.map((x) => round(x)), native: samples.native.map((x) => round(x)) },
      load: load.stop(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
