import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BenchContext } from './bench-context.js';
import { LoadWatch, median, round, runChecked, type ProcessRun } from './measure.js';

/**
 * `startup`: wall time and peak RSS of short CLI runs that do no work (`--version`, `--help`,
 * `status --help`, `snapshot list` of an empty folder store) against `node -e 0` on the same
 * machine, in the same run, alternating. Needs no server. Every variant runs `runs × 5` times
 * (they take tens of milliseconds, so a few more samples steady the medians).
 */

/** The targets for `--version`. */
const TARGET = { versionSeconds: 0.15, versionRssMb: 60 };
const RUNS_PER_BENCH_RUN = 5;

export async function startupBench(ctx: BenchContext): Promise<Record<string, unknown>> {
  const work = await mkdtemp(join(tmpdir(), 'vault-ops-bench-startup-'));
  try {
    const store = join(work, 'store');
    await mkdir(store);
    const cli = ctx.cli();
    const variants: Record<string, { command: string; args: string[] }> = {
      node: { command: process.execPath, args: ['-e', '0'] },
      version: { command: cli.command, args: [...cli.args, '--version'] },
      help: { command: cli.command, args: [...cli.args, '--help'] },
      statusHelp: { command: cli.command, args: [...cli.args, 'status', '--help'] },
      snapshotList: {
        command: cli.command,
        args: [...cli.args, 'snapshot', 'list', '--from', pathToFileURL(store).href],
      },
    };
    const names = Object.keys(variants);
    // Nothing from the shell but PATH and HOME: no VAULT_ADDR, no config file.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
    const seconds: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const rss: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
    const load = new LoadWatch();
    const runs = ctx.options.runs * RUNS_PER_BENCH_RUN;
    for (let run = 1; run <= runs; run++) {
      // Rotate the order so that no variant always runs right after the same neighbour.
      const order = names.map((_, i) => names[(i + run) % names.length]!);
      for (const name of order) {
        const v = variants[name]!;
        const r: ProcessRun = await runChecked(`startup ${name}`, v.command, v.args, { env, cwd: work });
        seconds[name]!.push(r.seconds);
        // ru_maxrss from GNU time: a 20 ms /proc sampler may catch a 50 ms process before its peak.
        rss[name]!.push(r.peakRssMbTree);
      }
      if (run % RUNS_PER_BENCH_RUN === 0)
        process.stderr.write(`bench startup: ${run}/${runs} runs, load ${load.now()}\n`);
    }
    const medianSeconds = Object.fromEntries(names.map((n) => [n, round(median(seconds[n]!), 3)]));
    const medianRssMb = Object.fromEntries(names.map((n) => [n, round(median(rss[n]!), 1)]));
    const ratio = (m: Record<string, number>) =>
      Object.fromEntries(names.filter((n) => n !== 'node').map((n) => [n, round(m[n]! / m.node!, 2)]));
    return {
      bench: 'startup',
      runs,
      medianSeconds,
      medianPeakRssMb: medianRssMb,
      ratioVsNode: { seconds: ratio(medianSeconds), rss: ratio(medianRssMb) },
      target: {
        ...TARGET,
        met: medianSeconds.version! <= TARGET.versionSeconds && medianRssMb.version! <= TARGET.versionRssMb,
      },
      samplesSeconds: Object.fromEntries(names.map((n) => [n, seconds[n]!.map((x) => round(x, 3))])),
      load: load.stop(),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
